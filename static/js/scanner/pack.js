// The offline pack: an activity's (or a day's) tickets as hashes, with short names, party sizes and slots,
// and the check-ins already made; the page judges a scan from it when the network is gone.
// A pack never holds ticket codes: each ticket is the first bytes of SHA-256(code), base64url (see
// planner/tickets/pack.py), and a scanned code is hashed here with Web Crypto to look it up.
import { load, save } from "./store.js";

const PACKS = "planner.scanner.packs";
const MAX_PACKS = 3;

function b64url(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return window.btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function hashCode(code, size) {
  const data = new TextEncoder().encode(code.trim());
  return window.crypto.subtle.digest("SHA-256", data).then((buf) => b64url(new Uint8Array(buf, 0, size || 12)));
}

// The calendar day of a moment in a time zone, as YYYY-MM-DD.
export function dayIn(ms, tz) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date(ms));
  const get = (t) => parts.filter((p) => p.type === t)[0].value;
  return get("year") + "-" + get("month") + "-" + get("day");
}

// Lower case without accents, for matching names typed at the door.
export function fold(text) {
  return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

export class Pack {
  constructor(stored) {
    this.key = stored.key;
    this.etag = stored.etag || null;
    this.savedAt = stored.savedAt || 0;
    this.body = stored.body;
    const body = this.body;
    this.hashBytes = (body.hash && body.hash.bytes) || 12;
    this.graceMs = (body.grace_minutes || 120) * 60000;
    this.index = new Map();
    body.tickets.forEach((t, i) => this.index.set(t[0], i));
    this.slots = new Map();
    this.activities = new Map();
    const zones = new Map();
    (body.programs || []).forEach((p) => zones.set(p.id, p.timezone));
    body.activities.forEach((a) => {
      a.timezone = zones.get(a.program_id) || "UTC";
      this.activities.set(a.id, a);
      a.slots.forEach((s) => this.slots.set(s.id, { slot: s, activity: a }));
    });
  }

  ticketCount() { return this.body.tickets.length; }

  find(hash) {
    const i = this.index.get(hash);
    if (i === undefined) return null;
    const t = this.body.tickets[i];
    const where = this.slots.get(t[3]) || {};
    return { index: i, hash: t[0], name: t[1], party: t[2], slot: t[3], activity: where.activity || null };
  }

  // The recorded admission of a ticket into a slot: from the server's list, or made on this device.
  checkin(index, slotId) {
    const c = this.body.checkins;
    for (let i = 0; i < c.length; i++) {
      if (c[i][0] === index && c[i][1] === slotId) return { at: c[i][2] * 1000, device: c[i][3] };
    }
    return null;
  }

  addCheckin(index, slotId, atMs, device) {
    if (this.checkin(index, slotId)) return;
    this.body.checkins.push([index, slotId, Math.floor(atMs / 1000), device || ""]);
  }

  // The slot a ticket of this activity is admitted into at this moment: a residency's slot of the day
  // (in the programme's zone), otherwise the ticket's own slot.
  targetSlot(activity, ticketSlot, nowMs) {
    if (activity.kind !== "residency") return ticketSlot;
    const today = dayIn(nowMs, activity.timezone);
    for (const s of activity.slots) {
      if (dayIn(Date.parse(s.starts_at), activity.timezone) === today) return s.id;
    }
    return null;
  }

  // People expected and checked in for an activity (and one slot of it, when given).
  counts(activityId, slotId, pending) {
    const a = this.activities.get(activityId);
    if (!a) return null;
    const ids = new Set(a.slots.map((s) => s.id));
    const residency = a.kind === "residency";
    let expected = 0, checkedIn = 0;
    const body = this.body;
    body.tickets.forEach((t) => {
      if (ids.has(t[3]) && (residency || !slotId || t[3] === slotId)) expected += t[2];
    });
    if (residency) expected *= slotId ? 1 : a.slots.length;
    const seen = new Set();
    body.checkins.forEach((c) => {
      if (ids.has(c[1]) && (!slotId || c[1] === slotId)) { checkedIn += body.tickets[c[0]][2]; seen.add(c[0] + ":" + c[1]); }
    });
    (pending || []).forEach((q) => {
      if (q.local && q.local.result === "admitted" && q.index !== undefined && ids.has(q.target_slot) &&
          (!slotId || q.target_slot === slotId) && !seen.has(q.index + ":" + q.target_slot)) {
        checkedIn += q.local.party || 1;
      }
    });
    return { expected, checked_in: checkedIn };
  }

  // Guests of an activity whose short name contains the text (accents and case ignored), for the search by
  // name with no network: name, party, slot and whether this device knows them checked in. No codes here.
  search(activityId, text, pending, nowMs) {
    const a = this.activities.get(activityId), q = fold(text).trim();
    if (!a || q.length < 2) return [];
    const ids = new Set(a.slots.map((s) => s.id)), out = [];
    this.body.tickets.forEach((t, i) => {
      if (!ids.has(t[3]) || fold(t[1]).indexOf(q) === -1) return;
      const target = this.targetSlot(a, t[3], nowMs);
      const queued = (pending || []).some((p) => p.index === i && p.target_slot === target && p.local && p.local.result === "admitted");
      out.push({ name: t[1], party: t[2], slot_id: t[3], slot_starts_at: this.slots.get(t[3]).slot.starts_at,
                 checked_in: !!(target && this.checkin(i, target)) || queued });
    });
    return out.sort((x, y) => x.name.localeCompare(y.name)).slice(0, 20);
  }

  // Judge a scan with no network, as the server would (planner/tickets/rules.py), from the pack and the
  // scans this device made since. Returns a result shaped like the API's, plus what to send when syncing.
  // `chosenSlot` is the slot the staff picked (a timed slot's ticket admits to its own slot only), or null.
  judge(hash, activity, chosenSlot, fallbackSlot, nowMs, pending) {
    const t = this.find(hash);
    if (!t) return { result: "invalid", reason: "not_on_list", slot_id: chosenSlot || fallbackSlot };
    const guest = { name: t.name };
    if (!t.activity || t.activity.id !== activity.id) {
      return { result: "wrong_activity", guest, activity: t.activity ? { id: t.activity.id, title: t.activity.title } : null,
               slot_id: chosenSlot || fallbackSlot, hash, index: t.index };
    }
    const residency = activity.kind === "residency";
    const base = { guest, party: t.party, hash, index: t.index, activity: { id: activity.id, title: activity.title },
                   ticket_slot: t.slot, slot_id: residency ? null : (chosenSlot || t.slot) };
    if (!residency && chosenSlot && chosenSlot !== t.slot) {
      const own = this.slots.get(t.slot);
      return Object.assign(base, { result: "wrong_activity", reason: "other_slot", ticket_slot_starts: own ? own.slot.starts_at : null });
    }
    if (t.activity.cancelled) return Object.assign(base, { result: "not_open", reason: "cancelled" });
    const target = this.targetSlot(t.activity, t.slot, nowMs);
    const where = target && this.slots.get(target);
    if (!where) return Object.assign(base, { result: "not_open", reason: "over" });
    if (nowMs > Date.parse(where.slot.ends_at) + this.graceMs) return Object.assign(base, { result: "not_open", reason: "over" });
    base.target_slot = target;
    let before = this.checkin(t.index, target);
    if (!before) {
      for (const q of pending || []) {
        if (q.hash === hash && q.target_slot === target && q.local && q.local.result === "admitted") {
          before = { at: Date.parse(q.scanned_at), device: q.device, queued: true };
          break;
        }
      }
    }
    if (before) {
      return Object.assign(base, { result: "already_checked_in", checked_in_at: new Date(before.at).toISOString(), device: before.device,
                                   from_queue: !!before.queued });
    }
    const kit = activity.kit ? { name: activity.kit.name, quantity: t.party, unknown_stock: true } : null;
    return Object.assign(base, { result: "admitted", checked_in_at: new Date(nowMs).toISOString(), kit });
  }
}

export function packKey(programId, day) { return programId + "/" + day; }

export function loadPack(key) {
  const stored = load(PACKS, {})[key];
  if (!stored || !stored.body) return null;
  try { return new Pack(stored); } catch (e) { return null; }
}

export function storePack(pack) {
  const all = load(PACKS, {});
  all[pack.key] = { key: pack.key, etag: pack.etag, savedAt: pack.savedAt, body: pack.body };
  const keys = Object.keys(all).sort((a, b) => (all[b].savedAt || 0) - (all[a].savedAt || 0));
  keys.slice(MAX_PACKS).forEach((k) => { delete all[k]; });
  return save(PACKS, all);
}
