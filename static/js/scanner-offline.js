// The scanner's memory on this device: offline packs (hashed tickets), the queue of scans still to sync,
// and the conflicts found when syncing. Everything is kept in localStorage and written synchronously at
// each scan, so a scan survives the page being closed a moment later.
// A pack never holds ticket codes: each ticket is the first bytes of SHA-256(code), base64url (see
// planner/tickets/pack.py), and a scanned code is hashed here with Web Crypto to look it up.
(function (global) {
  "use strict";

  var KEYS = { packs: "planner.scanner.packs", queue: "planner.scanner.queue", conflicts: "planner.scanner.conflicts" };
  var MAX_PACKS = 3, MAX_CONFLICTS = 50;

  function load(key, fallback) {
    try {
      var v = global.localStorage.getItem(key);
      return v ? JSON.parse(v) : fallback;
    } catch (e) { return fallback; }
  }

  function save(key, value) {
    try { global.localStorage.setItem(key, JSON.stringify(value)); return true; } catch (e) { return false; }
  }

  function b64url(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return global.btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function hashCode(code, size) {
    var data = new TextEncoder().encode(code.trim());
    return global.crypto.subtle.digest("SHA-256", data).then(function (buf) {
      return b64url(new Uint8Array(buf, 0, size || 12));
    });
  }

  function uuid() {
    if (global.crypto && global.crypto.randomUUID) return global.crypto.randomUUID();
    var b = global.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // The calendar day of a moment in a time zone, as YYYY-MM-DD.
  function dayIn(ms, tz) {
    var parts = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date(ms));
    var get = function (t) { return parts.filter(function (p) { return p.type === t; })[0].value; };
    return get("year") + "-" + get("month") + "-" + get("day");
  }

  // ------------------------------------------------------------ packs

  function Pack(stored) {
    this.key = stored.key;
    this.etag = stored.etag || null;
    this.savedAt = stored.savedAt || 0;
    this.body = stored.body;
    var body = this.body, self = this;
    this.hashBytes = (body.hash && body.hash.bytes) || 12;
    this.graceMs = (body.grace_minutes || 120) * 60000;
    this.index = new Map();
    body.tickets.forEach(function (t, i) { self.index.set(t[0], i); });
    this.slots = new Map();
    this.activities = new Map();
    var zones = new Map();
    (body.programs || []).forEach(function (p) { zones.set(p.id, p.timezone); });
    body.activities.forEach(function (a) {
      a.timezone = zones.get(a.program_id) || "UTC";
      self.activities.set(a.id, a);
      a.slots.forEach(function (s) { self.slots.set(s.id, { slot: s, activity: a }); });
    });
  }

  Pack.prototype.ticketCount = function () { return this.body.tickets.length; };

  Pack.prototype.find = function (hash) {
    var i = this.index.get(hash);
    if (i === undefined) return null;
    var t = this.body.tickets[i];
    var where = this.slots.get(t[3]) || {};
    return { index: i, hash: t[0], name: t[1], party: t[2], slot: t[3], activity: where.activity || null };
  };

  // The recorded admission of a ticket into a slot: from the server's list, or made on this device.
  Pack.prototype.checkin = function (index, slotId) {
    var c = this.body.checkins;
    for (var i = 0; i < c.length; i++) {
      if (c[i][0] === index && c[i][1] === slotId) return { at: c[i][2] * 1000, device: c[i][3] };
    }
    return null;
  };

  Pack.prototype.addCheckin = function (index, slotId, atMs, device) {
    if (this.checkin(index, slotId)) return;
    this.body.checkins.push([index, slotId, Math.floor(atMs / 1000), device || ""]);
  };

  // The slot a ticket of this activity is admitted into at this moment: a residency's slot of the day
  // (in the programme's zone), otherwise the ticket's own slot.
  Pack.prototype.targetSlot = function (activity, ticketSlot, nowMs) {
    if (activity.kind !== "residency") return ticketSlot;
    var today = dayIn(nowMs, activity.timezone);
    for (var i = 0; i < activity.slots.length; i++) {
      if (dayIn(Date.parse(activity.slots[i].starts_at), activity.timezone) === today) return activity.slots[i].id;
    }
    return null;
  };

  // People expected and checked in for an activity (and one slot of it, when given).
  Pack.prototype.counts = function (activityId, slotId, pending) {
    var a = this.activities.get(activityId);
    if (!a) return null;
    var ids = new Set(a.slots.map(function (s) { return s.id; }));
    var residency = a.kind === "residency";
    var expected = 0, checkedIn = 0, body = this.body;
    body.tickets.forEach(function (t) {
      if (ids.has(t[3]) && (residency || !slotId || t[3] === slotId)) expected += t[2];
    });
    if (residency) expected *= slotId ? 1 : a.slots.length;
    var seen = new Set();
    body.checkins.forEach(function (c) {
      if (ids.has(c[1]) && (!slotId || c[1] === slotId)) { checkedIn += body.tickets[c[0]][2]; seen.add(c[0] + ":" + c[1]); }
    });
    (pending || []).forEach(function (q) {
      if (q.local && q.local.result === "admitted" && q.index !== undefined && ids.has(q.target_slot) &&
          (!slotId || q.target_slot === slotId) && !seen.has(q.index + ":" + q.target_slot)) {
        checkedIn += q.local.party || 1;
      }
    });
    return { expected: expected, checked_in: checkedIn };
  };

  // Judge a scan with no network, as the server would (planner/tickets/rules.py), from the pack and the
  // scans this device made since. Returns a result shaped like the API's, plus what to send when syncing.
  // `chosenSlot` is the slot the staff picked (a timed slot's ticket admits to its own slot only), or null.
  Pack.prototype.judge = function (hash, activity, chosenSlot, fallbackSlot, nowMs, pending) {
    var t = this.find(hash);
    if (!t) return { result: "invalid", reason: "not_on_list", slot_id: chosenSlot || fallbackSlot };
    var guest = { name: t.name };
    if (!t.activity || t.activity.id !== activity.id) {
      return { result: "wrong_activity", guest: guest, activity: t.activity ? { id: t.activity.id, title: t.activity.title } : null,
               slot_id: chosenSlot || fallbackSlot, hash: hash, index: t.index };
    }
    var residency = activity.kind === "residency";
    var base = { guest: guest, party: t.party, hash: hash, index: t.index, activity: { id: activity.id, title: activity.title },
                 ticket_slot: t.slot, slot_id: residency ? null : (chosenSlot || t.slot) };
    if (!residency && chosenSlot && chosenSlot !== t.slot) {
      var own = this.slots.get(t.slot);
      return Object.assign(base, { result: "wrong_activity", reason: "other_slot", ticket_slot_starts: own ? own.slot.starts_at : null });
    }
    if (t.activity.cancelled) return Object.assign(base, { result: "not_open", reason: "cancelled" });
    var target = this.targetSlot(t.activity, t.slot, nowMs);
    var where = target && this.slots.get(target);
    if (!where) return Object.assign(base, { result: "not_open", reason: "over" });
    if (nowMs > Date.parse(where.slot.ends_at) + this.graceMs) return Object.assign(base, { result: "not_open", reason: "over" });
    base.target_slot = target;
    var before = this.checkin(t.index, target);
    if (!before) {
      for (var i = 0; i < (pending || []).length; i++) {
        var q = pending[i];
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
    var kit = activity.kit ? { name: activity.kit.name, quantity: t.party, unknown_stock: true } : null;
    return Object.assign(base, { result: "admitted", checked_in_at: new Date(nowMs).toISOString(), kit: kit });
  };

  function packKey(programId, day) { return programId + "/" + day; }

  function loadPack(key) {
    var all = load(KEYS.packs, {});
    var stored = all[key];
    if (!stored || !stored.body) return null;
    try { return new Pack(stored); } catch (e) { return null; }
  }

  function storePack(pack) {
    var all = load(KEYS.packs, {});
    all[pack.key] = { key: pack.key, etag: pack.etag, savedAt: pack.savedAt, body: pack.body };
    var keys = Object.keys(all).sort(function (a, b) { return (all[b].savedAt || 0) - (all[a].savedAt || 0); });
    keys.slice(MAX_PACKS).forEach(function (k) { delete all[k]; });
    return save(KEYS.packs, all);
  }

  // ------------------------------------------------------------ queue and conflicts

  var queue = {
    all: function () { return load(KEYS.queue, []); },
    add: function (entry) {
      var q = queue.all();
      q.push(entry);
      return save(KEYS.queue, q);
    },
    remove: function (scanIds) {
      var gone = new Set(scanIds);
      save(KEYS.queue, queue.all().filter(function (e) { return !gone.has(e.scan_id); }));
    }
  };

  var conflicts = {
    all: function () { return load(KEYS.conflicts, []); },
    add: function (items) {
      if (!items.length) return;
      save(KEYS.conflicts, items.concat(conflicts.all()).slice(0, MAX_CONFLICTS));
    },
    clear: function () { save(KEYS.conflicts, []); }
  };

  global.ScannerOffline = {
    hashCode: hashCode, uuid: uuid, dayIn: dayIn, load: load, save: save,
    Pack: Pack, packKey: packKey, loadPack: loadPack, storePack: storePack,
    queue: queue, conflicts: conflicts
  };
})(window);
