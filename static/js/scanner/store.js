// The scanner's memory on this device, in localStorage: small JSON values, the queue of scans still to sync,
// and the conflicts found when syncing. Each write is synchronous, so a scan survives the page being closed
// a moment later.

const KEYS = { queue: "planner.scanner.queue", conflicts: "planner.scanner.conflicts" };
const MAX_CONFLICTS = 50;

export function load(key, fallback) {
  try {
    const v = window.localStorage.getItem(key);
    return v ? JSON.parse(v) : fallback;
  } catch (e) { return fallback; }
}

export function save(key, value) {
  try { window.localStorage.setItem(key, JSON.stringify(value)); return true; } catch (e) { return false; }
}

export function uuid() {
  if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
  const b = window.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.prototype.map.call(b, (x) => (x + 0x100).toString(16).slice(1)).join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}

// Scans judged on this device and not yet accepted by the server, oldest first.
export const queue = {
  all() { return load(KEYS.queue, []); },
  add(entry) {
    const q = queue.all();
    q.push(entry);
    return save(KEYS.queue, q);
  },
  remove(scanIds) {
    const gone = new Set(scanIds);
    save(KEYS.queue, queue.all().filter((e) => !gone.has(e.scan_id)));
  },
};

// Offline scans the server judged differently, newest first.
export const conflicts = {
  all() { return load(KEYS.conflicts, []); },
  add(items) {
    if (!items.length) return;
    save(KEYS.conflicts, items.concat(conflicts.all()).slice(0, MAX_CONFLICTS));
  },
  clear() { save(KEYS.conflicts, []); },
};
