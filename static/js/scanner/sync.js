// Sending the scans judged on this device to the server (POST /api/checkins/batch) when it can be reached,
// and listing the ones the server judged differently ("changed after syncing").
import { deviceName, net, netChanged, online, request } from "./api.js";
import { refreshPack } from "./offline.js";
import { titleFor } from "./result.js";
import { findActivity, zoneOf } from "./state.js";
import { refreshStatus, showCounts } from "./status.js";
import { conflicts, queue } from "./store.js";
import { $, T, fmt, timeIn } from "./text.js";

let syncing = null;

export function sync() {
  if (syncing) return syncing;
  const items = queue.all();
  if (!items.length || !online()) return Promise.resolve();
  net.syncing = true; netChanged();
  const batch = items.slice(0, 500);
  syncing = request("/api/checkins/batch", { method: "POST", body: {
    device: deviceName(),
    scans: batch.map((q) => ({ code: q.code, scan_id: q.scan_id, scanned_at: q.scanned_at, slot_id: q.slot_id })),
  } }, 20000).then((r) => {
    // The role was taken away: keep the scans, and say so as for an expired login.
    if (r.status === 403) { net.authLost = true; return; }
    if (!r.ok) return;
    return r.json().then((body) => {
      const found = [];
      body.results.forEach((res, i) => {
        const q = batch[i], local = q.local || {};
        if (res.result !== local.result) {
          found.push({ scanned_at: q.scanned_at, activity_id: q.activity_id, name: (res.guest && res.guest.name) || local.name || "",
                       local: local.result, server: res.result, device: res.device || "", checked_in_at: res.checked_in_at || null,
                       message: res.message || "" });
        }
      });
      conflicts.add(found);
      queue.remove(batch.map((q) => q.scan_id));
      renderConflicts();
      refreshPack();
      refreshStatus();
    });
  }, () => {}).then(() => {
    net.syncing = false; syncing = null; netChanged(); showCounts();
    if (queue.all().length && online() && !net.authLost) return sync();
  });
  return syncing;
}

export function renderConflicts() {
  const items = conflicts.all(), list = $("conflict-list");
  list.textContent = "";
  items.forEach((c) => {
    const li = document.createElement("li");
    const tz = zoneOf(findActivity(c.activity_id));
    let server = titleFor({ result: c.server });
    if (c.server === "already_checked_in" && c.checked_in_at) {
      server += " " + fmt(T.alreadyDetail, { time: timeIn(c.checked_in_at, tz), device: c.device || T.aScanner });
    } else if (c.message) {
      server += ": " + c.message;
    }
    li.textContent = fmt(T.conflictLine, { time: timeIn(c.scanned_at, tz), name: c.name || T.unknownGuest,
                                           local: c.local === "unknown" ? T.notChecked : titleFor({ result: c.local }), server });
    li.dataset.server = c.server;
    list.appendChild(li);
  });
  $("conflicts").hidden = items.length === 0;
}

export function clearConflicts() { conflicts.clear(); renderConflicts(); }
