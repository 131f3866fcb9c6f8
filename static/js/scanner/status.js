// The line under the title: the connection (online, offline with scans waiting, syncing, logged out) and the
// count of people checked in out of those expected, from the server when online, else from the pack.
import { net, online, request } from "./api.js";
import { chosenSlot, root, state } from "./state.js";
import { queue } from "./store.js";
import { $, T, plural } from "./text.js";

export function refreshStatus() {
  const a = state.activity;
  if (!a || !online()) { showCounts(); return Promise.resolve(); }
  return request("/api/scanner/status?activity_id=" + a.id).then((r) => {
    if (!r.ok) return;
    return r.json().then((s) => { if (state.activity && s.activity_id === state.activity.id) { state.status = s; showCounts(); } });
  }, () => {});
}

export function showCounts() {
  const a = state.activity, pending = queue.all();
  let slot = chosenSlot(), c = null;
  if (!a) { $("count-in").textContent = "–"; $("count-expected").textContent = "–"; return; }
  if (a.kind === "residency") slot = state.pack ? state.pack.targetSlot(a, null, Date.now()) : slot;
  if (state.status && online()) {
    const s = state.status, row = slot ? s.slots.filter((x) => x.id === slot)[0] : null;
    c = row ? { checked_in: row.checked_in, expected: row.expected } : { checked_in: s.checked_in, expected: s.expected };
    pending.forEach((q) => {
      if (q.activity_id === a.id && q.local && q.local.result === "admitted" && (!slot || q.target_slot === slot)) c.checked_in += q.local.party || 1;
    });
  } else if (state.pack) {
    c = state.pack.counts(a.id, slot, pending);
  }
  $("count-in").textContent = c ? c.checked_in : "–";
  $("count-expected").textContent = c ? c.expected : "–";
}

export function showNet() {
  const el = $("net"), n = queue.all().length;
  let mode, text;
  if (net.authLost) { mode = "auth"; text = T.loginAgain; }
  else if (!online()) { mode = "offline"; text = plural(n, T.offlineOne, T.offlineMany); }
  else if (net.syncing && n) { mode = "syncing"; text = plural(n, T.syncingOne, T.syncingMany); }
  else if (n) { mode = "waiting"; text = plural(n, T.waitingOne, T.waitingMany); }
  else { mode = "online"; text = T.online; }
  el.dataset.mode = mode;
  el.textContent = text;
  $("login-again").hidden = !net.authLost;
  root.dataset.net = mode;
  root.dataset.waiting = n;
}
