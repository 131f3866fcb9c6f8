// What the scanner is pointed at: the activities this user may scan (from the page, or the newer copy kept on
// the device), the selection (an activity and slot, or a space to follow) kept across reloads, and the
// activity being scanned now with its offline pack.
import { dayIn, packKey } from "./pack.js";
import { load, save } from "./store.js";
import { $, timeIn } from "./text.js";

const PREFS = { selection: "planner.scanner.selection", space: "planner.scanner.space", activities: "planner.scanner.activities" };

export const root = document.getElementById("scanner");

export const state = {
  data: null,         // /api/scanner/activities
  selection: null,    // {mode: "activity", activity_id, slot_id, activity, pack_key} or {mode: "space", space_id}
  activity: null,     // the activity being scanned
  pack: null,         // its offline pack (a Pack), or null
  status: null,       // the server's counts for the activity
};

// The day asked for: the address says it even when the page came from the offline copy of another day.
export function day() {
  const asked = new URLSearchParams(window.location.search).get("day");
  return asked !== null ? asked : (root.dataset.day || "");
}

export function activitiesData() {
  const embedded = JSON.parse($("scanner-data").textContent || "null");
  const cached = load(PREFS.activities, null);
  const embeddedDay = root.dataset.day || "";
  // The page may come from the offline cache: keep whichever list of the day asked for is newer.
  if (cached && cached.day === day() && (!embedded || embeddedDay !== day() || cached.generated_at > embedded.generated_at)) return cached;
  return embedded;
}

export function setData(data) {
  data.day = day();
  state.data = data;
  save(PREFS.activities, data);
}

export function findActivity(id) {
  const list = (state.data && state.data.activities) || [];
  for (const a of list) if (a.id === id) return a;
  if (state.pack && state.pack.activities.has(id)) return state.pack.activities.get(id);
  const sel = state.selection;
  if (sel && sel.activity && sel.activity.id === id) return sel.activity;
  return null;
}

export function zoneOf(activity) {
  if (!activity) return undefined;
  if (activity.timezone) return activity.timezone;
  const p = state.data && state.data.programs.filter((x) => x.id === activity.program_id)[0];
  return p ? p.timezone : undefined;
}

export function whenText(activity) {
  const tz = zoneOf(activity);
  return timeIn(activity.starts_at, tz) + "–" + timeIn(activity.ends_at, tz);
}

// What is on in a space now: the activity running (from 15 minutes before its start to its end),
// else the next one today, else the last one that ended (its grace time still lets guests in).
export function runningIn(spaceId, nowMs) {
  const list = ((state.data && state.data.activities) || []).filter((a) => a.space.id === spaceId && !a.cancelled);
  let running = null, next = null, last = null;
  list.forEach((a) => {
    a.slots.forEach((s) => {
      const start = Date.parse(s.starts_at), end = Date.parse(s.ends_at);
      if (nowMs >= start - 15 * 60000 && nowMs <= end) { if (!running) running = a; }
      else if (start > nowMs) { if (!next || start < next.at) next = { a, at: start }; }
      else if (!last || end > last.at) last = { a, at: end };
    });
  });
  return running || (next && next.a) || (last && last.a) || null;
}

export function currentSlotOf(activity, nowMs) {
  let best = null;
  for (const s of activity.slots) {
    const start = Date.parse(s.starts_at), end = Date.parse(s.ends_at);
    if (nowMs >= start - 15 * 60000 && nowMs <= end) return s.id;
    if (!best && start > nowMs) best = s.id;
  }
  return best || (activity.slots.length ? activity.slots[activity.slots.length - 1].id : null);
}

// The offline pack an activity's tickets are in: its programme's pack of the activity's day.
export function packKeyFor(a) {
  if (!a) return null;
  const sel = state.selection;
  if (sel && sel.mode === "activity" && sel.activity_id === a.id && sel.pack_key) return sel.pack_key;
  const p = state.data && state.data.programs.filter((x) => x.id === a.program_id)[0];
  const d = p ? p.day : dayIn(Date.parse(a.starts_at), zoneOf(a));
  return packKey(a.program_id, d);
}

// The selection is kept on the device with what is needed to scan again with no network after a reload,
// even when the page comes back from the offline copy of another day: the activity itself and its pack.
export function saveSelection(sel) {
  if (sel && sel.mode === "activity") {
    const a = findActivity(sel.activity_id);
    if (a) {
      sel.activity = Object.assign({}, a, { timezone: zoneOf(a) });
      sel.pack_key = sel.pack_key || packKeyFor(a);
    }
  }
  state.selection = sel;
  save(PREFS.selection, sel);
}

export function savedSelection() { return load(PREFS.selection, null); }

export function savedSpace() { return localStorage.getItem(PREFS.space); }
export function saveSpace(id) { localStorage.setItem(PREFS.space, String(id)); }

// The slot picked in the slot list, or null for all slots.
export function chosenSlot() {
  const v = $("slot-row").hidden ? "" : $("slot-pick").value;
  return v ? parseInt(v, 10) : null;
}

// The slot sent with a code this device cannot place, so that the server can say "wrong activity".
export function fallbackSlot(a) {
  return chosenSlot() || currentSlotOf(a, Date.now());
}
