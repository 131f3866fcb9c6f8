// Judging one scanned or typed code. Online, the server judges (POST /api/checkins); with no network, or when
// the request fails, the page judges from the offline pack and queues the scan with its own id and time.
import { deviceName, errorDetail, netChanged, online, request } from "./api.js";
import { hashCode, storePack } from "./pack.js";
import { show, showProblem } from "./result.js";
import { chosenSlot, fallbackSlot, state } from "./state.js";
import { refreshStatus, showCounts } from "./status.js";
import { queue, uuid } from "./store.js";
import { sync } from "./sync.js";
import { T } from "./text.js";

const DEBOUNCE_MS = 4000;   // the same code is not judged twice within this time...
const GONE_MS = 2000;       // ...nor while it stays in view (seen again within this gap)

const seen = { code: null, accepted: 0, last: 0 };
let busy = false;

function seenRecently(code) {
  const now = Date.now();
  if (code !== seen.code) return false;
  const sameView = now - seen.last < GONE_MS;
  seen.last = now;
  return sameView || now - seen.accepted < DEBOUNCE_MS;
}

// "Scan again": the code in view may be judged once more.
export function forgetLastCode() { seen.code = null; seen.accepted = 0; seen.last = 0; }

// What the pack says about the ticket's own slot, for a result that names it.
function packSlotStarts(local) {
  const own = local && local.ticket_slot && state.pack && state.pack.slots.get(local.ticket_slot);
  return own ? own.slot.starts_at : null;
}

// Remember an admission in the pack, so that a rescan with no network is refused here too.
// An admission anyway is recorded on the ticket's own slot.
function remember(res, local, device) {
  const known = { admitted: device, already_checked_in: res.device }[res.result];
  const slot = local.target_slot || (res.override && local.ticket_slot);
  if (known !== undefined && state.pack && local.index !== undefined && slot) {
    state.pack.addCheckin(local.index, slot, Date.parse(res.checked_in_at) || Date.now(), known);
    storePack(state.pack);
  }
}

function postScan(body, local, device, source, opts) {
  return request("/api/checkins", { method: "POST", body }).then((r) => {
    if (!r.ok) {
      return errorDetail(r).then((detail) => {
        showProblem(r.status === 401 ? T.loginAgainShort : r.status === 403 ? T.notAllowed : T.cannotCheck, detail);
      });
    }
    return r.json().then((res) => {
      remember(res, local, device);
      show(res, Object.assign({ slotStarts: packSlotStarts(local), scan: body, source }, opts));
      refreshStatus();
    });
  });
}

// source: "camera", "manual" or "search". extra: {override: true, reason, slot_id} to admit anyway.
export function handleCode(code, source, extra) {
  code = (code || "").trim();
  const a = state.activity;
  if (!code || !a || busy) return Promise.resolve();
  if (source === "camera" && seenRecently(code)) return Promise.resolve();
  seen.code = code; seen.accepted = seen.last = Date.now();
  busy = true;
  const scannedAt = new Date().toISOString(), device = deviceName();
  const hashing = state.pack ? hashCode(code, state.pack.hashBytes).catch(() => null) : Promise.resolve(null);
  return hashing.then((hash) => {
    const pending = queue.all();
    const local = hash && state.pack ? state.pack.judge(hash, a, chosenSlot(), fallbackSlot(a), Date.now(), pending)
                                     : { result: "unknown", slot_id: fallbackSlot(a) };
    const scan = { code, scan_id: uuid(), scanned_at: scannedAt, slot_id: local.slot_id };
    if (extra && extra.override) {
      // Admitting anyway is recorded by the server with its reason: never judged offline.
      if (!online()) { showProblem(T.cannotCheck, T.overrideOffline); return; }
      const body = Object.assign({ device }, scan, { slot_id: extra.slot_id === undefined ? scan.slot_id : extra.slot_id,
                                                     override: true, reason: extra.reason });
      return postScan(body, local, device, source, { note: T.overrideNote }).catch((err) => {
        if (err && err.network) showProblem(T.cannotCheck, T.overrideOffline);
      });
    }
    const judgeOffline = () => {
      queue.add({ code, scan_id: scan.scan_id, scanned_at: scannedAt, slot_id: scan.slot_id, device,
                  activity_id: a.id, hash, index: local.index, target_slot: local.target_slot,
                  local: { result: local.result, name: local.guest ? local.guest.name : "", party: local.party } });
      if (local.result === "unknown") showProblem(T.cannotCheck, T.noPack);
      else show(local, { offline: true, slotStarts: packSlotStarts(local), scan, source });
      netChanged(); showCounts();
    };
    // A ticket this device admitted while offline, not synced yet: the server does not know it, so the
    // device answers (and queues this scan too, to be judged in order when the queue syncs).
    if (!online() || local.from_queue) {
      judgeOffline();
      if (online()) sync();
      return;
    }
    if (queue.all().length) sync();
    return postScan(Object.assign({ device }, scan), local, device, source, {}).catch((err) => {
      if (err && err.network) judgeOffline();
    });
  }).then(() => { busy = false; }, () => { busy = false; });
}
