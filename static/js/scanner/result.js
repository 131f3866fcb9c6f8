// The result panel: one big verdict per scan (colour, icon and words say the same), with the guest, the party,
// why, and the kit to hand out; back to "ready" after a while. Others can follow what it shows (onShow).
import { signal } from "./feedback.js";
import { state, zoneOf } from "./state.js";
import { $, T, fmt, timeIn } from "./text.js";

const RESULT_MS = 6000;   // a result stays this long, then the panel says "ready" again
let timer = null;
const listeners = [];

// fn(res, opts) after each result shown (return true to keep it until the next scan); fn(null) when the
// panel goes back to "ready".
export function onShow(fn) { listeners.push(fn); }

function line(id, text) { $(id).textContent = text || ""; $(id).hidden = !text; }

// A ticket of the activity being scanned, but for another of its slots: the one case staff may admit anyway.
// The server answers "other_slot" (older servers: "wrong_activity" naming this activity); the pack judges
// "wrong_activity" with the reason "other_slot".
export function isOtherSlot(res) {
  if (!res) return false;
  if (res.result === "other_slot") return true;
  if (res.result !== "wrong_activity") return false;
  if (res.reason === "other_slot") return true;
  return !!(res.activity && state.activity && res.activity.id === state.activity.id);
}

// When the ticket's own slot starts, if the answer (or the pack, as opts.slotStarts) says.
export function ticketSlotStarts(res, opts) {
  return res.ticket_slot_starts || res.slot_starts_at || (res.ticket_slot && res.ticket_slot.starts_at) || (opts && opts.slotStarts) || null;
}

export function titleFor(res) {
  if (isOtherSlot(res)) return T.otherSlot;
  return { admitted: T.admitted, already_checked_in: T.already, invalid: T.invalid, wrong_activity: T.wrongActivity,
           not_open: T.notOpen }[res.result] || T.error;
}

function kitLine(res) {
  const k = res.kit;
  if (!k || res.result !== "admitted") return ["", ""];
  if (k.unknown_stock) return [fmt(T.kitOffline, { kit: k.name, n: k.quantity || res.party || 1 }), "info"];
  if (k.handed_out) return [fmt(T.kitHand, { kit: k.name, n: k.quantity || res.party || 1 }), "hand"];
  return [T.kitNone, "none"];
}

function detailFor(res, a, opts) {
  const tz = zoneOf(a);
  if (res.result === "already_checked_in") {
    return fmt(T.alreadyDetail, { time: timeIn(res.checked_in_at, tz), device: res.device || T.aScanner });
  }
  if (res.result === "wrong_activity" || res.result === "other_slot") {
    const starts = isOtherSlot(res) ? ticketSlotStarts(res, opts) : null;
    if (starts) return fmt(T.forSlot, { time: timeIn(starts, tz) });
    if (res.message) return res.message;
    return res.activity && res.activity.title ? fmt(T.forOther, { title: res.activity.title }) : "";
  }
  if (res.reason === "not_on_list") return T.notOnList;
  if (res.reason === "over") return T.over;
  if (res.reason === "cancelled") return T.cancelled;
  return res.result === "admitted" ? "" : (res.message || "");
}

export function showIdle() {
  clearTimeout(timer);
  const panel = $("result");
  panel.dataset.kind = "idle";
  panel.dataset.offline = "";
  panel.dataset.result = "";
  $("result-icon").textContent = "";
  $("result-title").textContent = state.activity ? T.ready : T.pickFirst;
  ["result-name", "result-party", "result-detail", "result-kit", "result-note"].forEach((id) => line(id, ""));
  listeners.forEach((fn) => fn(null, {}));
}

// opts: offline (judged on this device), slotStarts (the ticket's slot, from the pack), note (an extra line),
// and what was sent (scan), for whoever follows the panel.
export function show(res, opts) {
  opts = opts || {};
  const a = state.activity, panel = $("result");
  const kind = { admitted: "admitted", already_checked_in: "already" }[res.result] || "refused";
  panel.dataset.kind = kind;
  panel.dataset.result = res.result;
  panel.dataset.offline = opts.offline ? "yes" : "";
  $("result-icon").textContent = { admitted: "✓", already: "!", refused: "✕" }[kind];
  $("result-title").textContent = titleFor(res);
  line("result-name", res.guest && res.guest.name);
  line("result-party", res.party && (res.result === "admitted" || res.result === "already_checked_in") ?
    (res.party === 1 ? T.partyOne : fmt(T.partyMany, { n: res.party })) : "");
  line("result-detail", detailFor(res, a, opts));
  const kit = kitLine(res);
  line("result-kit", kit[0]);
  $("result-kit").dataset.kit = kit[1];
  const notes = [];
  if (opts.offline) notes.push(T.offlineNote);
  if (opts.note) notes.push(opts.note);
  line("result-note", notes.join(" "));
  signal(kind === "admitted" ? "good" : kind === "already" ? "warn" : "bad");
  $("last").textContent = fmt(T.last, { result: titleFor(res) + (res.guest && res.guest.name ? " · " + res.guest.name : ""),
                                        time: timeIn(Date.now(), zoneOf(a)) });
  clearTimeout(timer);
  let keep = false;
  listeners.forEach((fn) => { if (fn(res, opts) === true) keep = true; });
  if (!keep) timer = setTimeout(showIdle, RESULT_MS);
  // On a small screen the result may be scrolled away (after typing a code): bring it back.
  const box = panel.getBoundingClientRect(), meta = document.querySelector(".run-meta").getBoundingClientRect();
  if (meta.top < 0 || box.bottom > window.innerHeight) $("run").scrollIntoView({ block: "start" });
}

export function showProblem(title, detail) {
  show({ result: "error", message: detail }, {});
  $("result-title").textContent = title;
}
