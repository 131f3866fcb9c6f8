// The staff scanner: pick an activity (or follow what is on in a space), scan tickets with the camera or
// by typing, and show one big result per scan. Online, the server judges each scan (POST /api/checkins);
// when the network is gone, the page judges from the offline pack, queues the scan with its own id and
// time, and syncs the queue (POST /api/checkins/batch) when the network is back.
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  if (!root || !window.ScannerOffline) return;
  var O = window.ScannerOffline;
  var T = document.getElementById("scanner-text").dataset;
  var $ = function (id) { return document.getElementById(id); };

  var RESULT_MS = 6000;        // a result stays this long, then the panel says "ready" again
  var DEBOUNCE_MS = 4000;      // the same code is not judged twice within this time...
  var GONE_MS = 2000;          // ...nor while it stays in view (seen again within this gap)
  var REQUEST_MS = 4000;       // an online scan waits this long before it is judged offline
  var SYNC_EVERY = 10000, STATUS_EVERY = 15000, PACK_EVERY = 60000, ACTIVITIES_EVERY = 120000;
  var FRAME_MS = 120, MAX_FRAME_WIDTH = 720;
  var PREFS = { device: "planner.scanner.device", selection: "planner.scanner.selection", space: "planner.scanner.space",
                activities: "planner.scanner.activities" };

  var state = {
    data: null,               // /api/scanner/activities
    selection: null,          // {mode: "activity", activity_id, slot_id} or {mode: "space", space_id}
    activity: null,           // the activity being scanned
    pack: null,
    netDown: false,           // a request failed for want of a network; cleared by the next success
    syncing: false,
    authLost: false,
    status: null,             // the server's counts for the activity
    lastCode: null, lastAccepted: 0, lastSeen: 0,
    resultTimer: null, busy: false
  };

  // ------------------------------------------------------------ small helpers

  function fmt(s, vars) {
    return String(s || "").replace(/\{(\w+)\}/g, function (m, k) { return vars && vars[k] !== undefined ? vars[k] : m; });
  }

  function plural(n, one, many) {
    // The page's language decides which numbers take the singular (French and Portuguese say "0 scan").
    var form = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang()).select(n) : (n === 1 ? "one" : "other");
    return fmt(form === "one" ? one : many, { n: n });
  }

  function lang() { return document.documentElement.lang || "en"; }

  function timeIn(value, tz) {
    var d = typeof value === "number" ? new Date(value) : new Date(value);
    if (isNaN(d)) return "";
    try {
      return new Intl.DateTimeFormat(lang(), { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: tz || undefined }).format(d);
    } catch (e) { return d.toTimeString().slice(0, 5); }
  }

  function zoneOf(activity) {
    if (!activity) return undefined;
    if (activity.timezone) return activity.timezone;
    var p = state.data && state.data.programs.filter(function (x) { return x.id === activity.program_id; })[0];
    return p ? p.timezone : undefined;
  }

  function cookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return cookie("csrftoken") || (meta ? meta.content : "");
  }

  function deviceName() {
    var v = (localStorage.getItem(PREFS.device) || "").trim();
    if (!v) {
      v = T.deviceDefault + " " + O.uuid().slice(0, 4).toUpperCase();
      localStorage.setItem(PREFS.device, v);
    }
    return v;
  }

  function online() { return navigator.onLine !== false && !state.netDown; }

  // fetch with a time limit; rejects with {network: true} when the network (not the server) failed.
  function request(url, opts, limit) {
    opts = opts || {};
    var ctl = "AbortController" in window ? new AbortController() : null;
    var timer = ctl ? setTimeout(function () { ctl.abort(); }, limit || REQUEST_MS) : null;
    var headers = Object.assign({ "accept": "application/json" }, opts.headers || {});
    // A header carries Latin-1 only; the device also goes in every POST body, which carries any name.
    if (/^[\x20-\x7e]*$/.test(deviceName())) headers["x-device"] = deviceName();
    if (opts.body !== undefined) {
      headers["content-type"] = "application/json";
      headers["x-csrftoken"] = csrf();
    }
    return fetch(url, { method: opts.method || "GET", headers: headers, credentials: "same-origin", cache: "no-store",
                        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined, signal: ctl ? ctl.signal : undefined })
      .then(function (r) {
        if (timer) clearTimeout(timer);
        state.netDown = false;
        if (r.status === 401) { state.authLost = true; showNet(); }
        else if (r.ok && state.authLost) { state.authLost = false; showNet(); }
        return r;
      }, function () {
        if (timer) clearTimeout(timer);
        state.netDown = true;
        showNet();
        throw { network: true };
      });
  }

  function errorDetail(r) {
    return r.json().then(function (b) { return b.detail || T.error; }, function () { return T.error; });
  }

  // ------------------------------------------------------------ sound and touch

  var audio = null;
  function wakeAudio() {
    try {
      if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
    } catch (e) { audio = null; }
  }

  function tone(freq, start, length, type) {
    var osc = audio.createOscillator(), gain = audio.createGain();
    osc.type = type || "sine";
    osc.frequency.value = freq;
    var t0 = audio.currentTime + start;
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(0.3, t0 + 0.015);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + length);
    osc.connect(gain); gain.connect(audio.destination);
    osc.start(t0); osc.stop(t0 + length + 0.02);
  }

  function signal(kind) {
    var pattern = { good: [90], warn: [70, 60, 70], bad: [350] }[kind];
    if (navigator.vibrate) { try { navigator.vibrate(pattern); } catch (e) { /* not allowed here */ } }
    if (!audio || audio.state !== "running") return;
    try {
      if (kind === "good") { tone(880, 0, 0.14); tone(1320, 0.12, 0.16); }
      else if (kind === "warn") { tone(660, 0, 0.12, "triangle"); tone(660, 0.18, 0.12, "triangle"); }
      else { tone(200, 0, 0.45, "square"); }
    } catch (e) { /* sound is a courtesy */ }
  }

  // ------------------------------------------------------------ activities

  function activitiesData() {
    var embedded = JSON.parse($("scanner-data").textContent || "null");
    var cached = O.load(PREFS.activities, null);
    // The page may come from the offline cache: keep whichever list is newer (same day asked for).
    if (cached && cached.day === (root.dataset.day || "") && (!embedded || cached.generated_at > embedded.generated_at)) return cached;
    return embedded;
  }

  function setData(data) {
    data.day = root.dataset.day || "";
    state.data = data;
    O.save(PREFS.activities, data);
  }

  function findActivity(id) {
    var list = (state.data && state.data.activities) || [];
    for (var i = 0; i < list.length; i++) if (list[i].id === id) return list[i];
    if (state.pack && state.pack.activities.has(id)) return state.pack.activities.get(id);
    return null;
  }

  // What is on in a space now: the activity running (from 15 minutes before its start to its end),
  // else the next one today, else the last one that ended (its grace time still lets guests in).
  function runningIn(spaceId, nowMs) {
    var list = ((state.data && state.data.activities) || []).filter(function (a) { return a.space.id === spaceId && !a.cancelled; });
    var running = null, next = null, last = null;
    list.forEach(function (a) {
      a.slots.forEach(function (s) {
        var start = Date.parse(s.starts_at), end = Date.parse(s.ends_at);
        if (nowMs >= start - 15 * 60000 && nowMs <= end) { if (!running) running = a; }
        else if (start > nowMs) { if (!next || start < next.at) next = { a: a, at: start }; }
        else if (!last || end > last.at) last = { a: a, at: end };
      });
    });
    return running || (next && next.a) || (last && last.a) || null;
  }

  function currentSlotOf(activity, nowMs) {
    var slots = activity.slots, best = null;
    for (var i = 0; i < slots.length; i++) {
      var start = Date.parse(slots[i].starts_at), end = Date.parse(slots[i].ends_at);
      if (nowMs >= start - 15 * 60000 && nowMs <= end) return slots[i].id;
      if (!best && start > nowMs) best = slots[i].id;
    }
    return best || (slots.length ? slots[slots.length - 1].id : null);
  }

  function whenText(activity) {
    var tz = zoneOf(activity);
    return timeIn(activity.starts_at, tz) + "–" + timeIn(activity.ends_at, tz);
  }

  function renderList() {
    var list = $("activity-list"), data = state.data || { activities: [], spaces: [] };
    list.textContent = "";
    data.activities.forEach(function (a) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "activity-pick" + (a.cancelled ? " cancelled" : "");
      b.dataset.activity = a.id;
      var title = document.createElement("span"); title.className = "pick-title"; title.textContent = a.title;
      var meta = document.createElement("span"); meta.className = "pick-meta";
      meta.textContent = whenText(a) + " · " + a.space.name + (a.cancelled ? " · " + T.cancelledShort : "");
      var count = document.createElement("span"); count.className = "pick-count";
      count.textContent = fmt(T.countShort, { n: a.checked_in, of: a.expected });
      b.appendChild(title); b.appendChild(meta); b.appendChild(count);
      li.appendChild(b);
      list.appendChild(li);
    });
    $("no-activities").hidden = data.activities.length > 0;
    var pick = $("space-pick"), chosen = pick.value || localStorage.getItem(PREFS.space);
    pick.textContent = "";
    data.spaces.forEach(function (s) {
      var o = document.createElement("option"); o.value = s.id; o.textContent = s.name; pick.appendChild(o);
    });
    if (chosen && data.spaces.some(function (s) { return String(s.id) === String(chosen); })) pick.value = chosen;
    $("follow").hidden = data.spaces.length === 0;
  }

  function refreshActivities() {
    if (!online()) return Promise.resolve();
    var q = root.dataset.day ? "?day=" + encodeURIComponent(root.dataset.day) : "";
    return request("/api/scanner/activities" + q).then(function (r) {
      if (!r.ok) return;
      return r.json().then(function (data) {
        setData(data);
        if (root.dataset.state === "setup") renderList();
        else chooseActivity(false);
      });
    }, function () {});
  }

  // ------------------------------------------------------------ choosing what to scan

  function saveSelection(sel) {
    state.selection = sel;
    O.save(PREFS.selection, sel);
  }

  function chooseActivity(announce) {
    var sel = state.selection, now = Date.now(), activity = null;
    if (!sel) return;
    if (sel.mode === "space") activity = runningIn(sel.space_id, now);
    else activity = findActivity(sel.activity_id);
    var changed = !state.activity || !activity || state.activity.id !== activity.id;
    state.activity = activity;
    renderRun();
    if (changed) {
      state.status = null;
      loadPackFor(activity);
      refreshStatus();
      if (announce !== false && activity && sel.mode === "space") showIdle();
    }
  }

  function startRun(sel) {
    wakeAudio();
    saveSelection(sel);
    state.activity = null;
    root.dataset.state = "run";
    $("setup").hidden = true;
    $("run").hidden = false;
    chooseActivity();
    showIdle();
    startCamera();
    window.scrollTo(0, 0);
  }

  function backToSetup() {
    stopCamera();
    saveSelection(null);
    state.activity = null;
    root.dataset.state = "setup";
    $("run").hidden = true;
    $("setup").hidden = false;
    renderList();
  }

  function renderRun() {
    var a = state.activity, sel = state.selection || {};
    var space = sel.mode === "space" && state.data ? state.data.spaces.filter(function (s) { return s.id === sel.space_id; })[0] : null;
    $("run-activity").textContent = a ? a.title : fmt(T.nothingNow, { space: space ? space.name : "" });
    $("run-when").textContent = a ? whenText(a) + " · " + a.space.name : "";
    $("run-follow").hidden = !space;
    $("run-follow").textContent = space ? fmt(T.following, { space: space.name }) : "";
    var pick = $("slot-pick");
    if (a && a.slots.length > 1 && a.kind !== "residency") {
      var keep = sel.slot_id || "";
      pick.textContent = "";
      var all = document.createElement("option"); all.value = ""; all.textContent = T.allSlots; pick.appendChild(all);
      a.slots.forEach(function (s) {
        var o = document.createElement("option");
        o.value = s.id;
        o.textContent = timeIn(s.starts_at, zoneOf(a)) + "–" + timeIn(s.ends_at, zoneOf(a));
        pick.appendChild(o);
      });
      pick.value = String(keep);
      $("slot-row").hidden = false;
    } else {
      $("slot-row").hidden = true;
    }
    $("manual-code").disabled = !a;
    $("manual-submit").disabled = !a;
    showCounts();
    showNet();
  }

  function chosenSlot() {
    var v = $("slot-row").hidden ? "" : $("slot-pick").value;
    return v ? parseInt(v, 10) : null;
  }

  // The slot sent with a code this device cannot place, so that the server can say "wrong activity".
  function fallbackSlot(a) {
    return chosenSlot() || currentSlotOf(a, Date.now());
  }

  // ------------------------------------------------------------ offline pack

  function packKeyFor(a) {
    if (!a) return null;
    var p = state.data && state.data.programs.filter(function (x) { return x.id === a.program_id; })[0];
    var day = p ? p.day : O.dayIn(Date.parse(a.starts_at), zoneOf(a));
    return O.packKey(a.program_id, day);
  }

  function loadPackFor(a) {
    var key = packKeyFor(a);
    state.pack = key ? O.loadPack(key) : null;
    showReady();
    return refreshPack();
  }

  function refreshPack() {
    var a = state.activity, key = packKeyFor(a);
    if (!key || !online()) return Promise.resolve();
    var parts = key.split("/");
    var headers = state.pack && state.pack.key === key && state.pack.etag ? { "if-none-match": state.pack.etag } : {};
    return request("/api/scanner/pack?program_id=" + parts[0] + "&day=" + parts[1], { headers: headers }, 20000).then(function (r) {
      if (r.status === 304 && state.pack) {
        state.pack.savedAt = Date.now();
        O.storePack(state.pack);
      } else if (r.ok) {
        var etag = r.headers.get("etag");
        return r.json().then(function (body) {
          if (packKeyFor(state.activity) !== key) return;
          state.pack = new O.Pack({ key: key, etag: etag, savedAt: Date.now(), body: body });
          O.storePack(state.pack);
        });
      }
    }, function () {}).then(function () { showReady(); showCounts(); });
  }

  function showReady() {
    var el = $("ready"), sw = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (state.pack && state.activity && state.pack.activities.has(state.activity.id)) {
      el.textContent = fmt(sw ? T.readyOffline : T.readyPartly, { n: state.pack.ticketCount() });
      el.dataset.ready = sw ? "yes" : "partly";
    } else {
      el.textContent = T.notReady;
      el.dataset.ready = "no";
    }
    root.dataset.offlineReady = el.dataset.ready;
  }

  // ------------------------------------------------------------ counts and the connection line

  function refreshStatus() {
    var a = state.activity;
    if (!a || !online()) { showCounts(); return Promise.resolve(); }
    return request("/api/scanner/status?activity_id=" + a.id).then(function (r) {
      if (!r.ok) return;
      return r.json().then(function (s) { if (state.activity && s.activity_id === state.activity.id) { state.status = s; showCounts(); } });
    }, function () {});
  }

  function showCounts() {
    var a = state.activity, pending = O.queue.all(), slot = chosenSlot(), c = null;
    if (!a) { $("count-in").textContent = "–"; $("count-expected").textContent = "–"; return; }
    if (a.kind === "residency") slot = state.pack ? state.pack.targetSlot(a, null, Date.now()) : slot;
    if (state.status && online()) {
      var s = state.status, row = slot ? s.slots.filter(function (x) { return x.id === slot; })[0] : null;
      c = row ? { checked_in: row.checked_in, expected: row.expected } : { checked_in: s.checked_in, expected: s.expected };
      pending.forEach(function (q) {
        if (q.activity_id === a.id && q.local && q.local.result === "admitted" && (!slot || q.target_slot === slot)) c.checked_in += q.local.party || 1;
      });
    } else if (state.pack) {
      c = state.pack.counts(a.id, slot, pending);
    }
    $("count-in").textContent = c ? c.checked_in : "–";
    $("count-expected").textContent = c ? c.expected : "–";
  }

  function showNet() {
    var el = $("net"), n = O.queue.all().length, mode, text;
    if (state.authLost) { mode = "auth"; text = T.loginAgain; }
    else if (!online()) { mode = "offline"; text = plural(n, T.offlineOne, T.offlineMany); }
    else if (state.syncing && n) { mode = "syncing"; text = plural(n, T.syncingOne, T.syncingMany); }
    else if (n) { mode = "waiting"; text = plural(n, T.waitingOne, T.waitingMany); }
    else { mode = "online"; text = T.online; }
    el.dataset.mode = mode;
    el.textContent = text;
    $("login-again").hidden = !state.authLost;
    root.dataset.net = mode;
    root.dataset.waiting = n;
  }

  // ------------------------------------------------------------ the result panel

  function showIdle() {
    var panel = $("result");
    panel.dataset.kind = "idle";
    panel.dataset.offline = "";
    $("result-icon").textContent = "";
    $("result-title").textContent = state.activity ? T.ready : T.pickFirst;
    ["result-name", "result-party", "result-detail", "result-kit", "result-note"].forEach(function (id) { $(id).textContent = ""; $(id).hidden = true; });
  }

  function line(id, text) { $(id).textContent = text || ""; $(id).hidden = !text; }

  function titleFor(res) {
    return { admitted: T.admitted, already_checked_in: T.already, invalid: T.invalid, wrong_activity: T.wrongActivity,
             not_open: T.notOpen }[res.result] || T.error;
  }

  function kitLine(res) {
    var k = res.kit;
    if (!k || res.result !== "admitted") return ["", ""];
    if (k.unknown_stock) return [fmt(T.kitOffline, { kit: k.name, n: k.quantity || res.party || 1 }), "info"];
    if (k.handed_out) return [fmt(T.kitHand, { kit: k.name, n: k.quantity || res.party || 1 }), "hand"];
    return [T.kitNone, "none"];
  }

  function detailFor(res, a) {
    var tz = zoneOf(a);
    if (res.result === "already_checked_in") {
      return fmt(T.alreadyDetail, { time: timeIn(res.checked_in_at, tz), device: res.device || T.aScanner });
    }
    if (res.result === "wrong_activity") {
      if (res.reason === "other_slot") return fmt(T.forSlot, { time: timeIn(res.ticket_slot_starts, tz) });
      if (res.message) return res.message;
      return res.activity && res.activity.title ? fmt(T.forOther, { title: res.activity.title }) : "";
    }
    if (res.reason === "not_on_list") return T.notOnList;
    if (res.reason === "over") return T.over;
    if (res.reason === "cancelled") return T.cancelled;
    return res.result === "admitted" ? "" : (res.message || "");
  }

  function show(res, opts) {
    opts = opts || {};
    var a = state.activity, panel = $("result");
    var kind = { admitted: "admitted", already_checked_in: "already" }[res.result] || "refused";
    panel.dataset.kind = kind;
    panel.dataset.result = res.result;
    panel.dataset.offline = opts.offline ? "yes" : "";
    $("result-icon").textContent = { admitted: "✓", already: "!", refused: "✕" }[kind];
    $("result-title").textContent = titleFor(res);
    line("result-name", res.guest && res.guest.name);
    line("result-party", res.party && (res.result === "admitted" || res.result === "already_checked_in") ?
      (res.party === 1 ? T.partyOne : fmt(T.partyMany, { n: res.party })) : "");
    line("result-detail", detailFor(res, a));
    var kit = kitLine(res);
    line("result-kit", kit[0]);
    $("result-kit").dataset.kit = kit[1];
    var notes = [];
    if (opts.offline) notes.push(T.offlineNote);
    line("result-note", notes.join(" "));
    signal(kind === "admitted" ? "good" : kind === "already" ? "warn" : "bad");
    $("last").textContent = fmt(T.last, { result: titleFor(res) + (res.guest && res.guest.name ? " · " + res.guest.name : ""),
                                          time: timeIn(Date.now(), zoneOf(a)) });
    clearTimeout(state.resultTimer);
    state.resultTimer = setTimeout(showIdle, RESULT_MS);
    // On a small screen the result may be scrolled away (after typing a code): bring it back.
    var box = panel.getBoundingClientRect(), meta = document.querySelector(".run-meta").getBoundingClientRect();
    if (meta.top < 0 || box.bottom > window.innerHeight) $("run").scrollIntoView({ block: "start" });
  }

  function showProblem(title, detail) {
    show({ result: "error", message: detail }, {});
    $("result-title").textContent = title;
  }

  // ------------------------------------------------------------ judging a scan

  function seenRecently(code) {
    var now = Date.now();
    if (code !== state.lastCode) return false;
    var sameView = now - state.lastSeen < GONE_MS;
    state.lastSeen = now;
    return sameView || now - state.lastAccepted < DEBOUNCE_MS;
  }

  function handleCode(code, source) {
    code = (code || "").trim();
    var a = state.activity;
    if (!code || !a || state.busy) return Promise.resolve();
    if (source === "camera" && seenRecently(code)) return Promise.resolve();
    state.lastCode = code; state.lastAccepted = state.lastSeen = Date.now();
    state.busy = true;
    var scannedAt = new Date().toISOString(), device = deviceName();
    var hashing = state.pack ? O.hashCode(code, state.pack.hashBytes).catch(function () { return null; }) : Promise.resolve(null);
    return hashing.then(function (hash) {
      var pending = O.queue.all();
      var local = hash && state.pack ? state.pack.judge(hash, a, chosenSlot(), fallbackSlot(a), Date.now(), pending)
                                     : { result: "unknown", slot_id: fallbackSlot(a) };
      var scan = { code: code, scan_id: O.uuid(), scanned_at: scannedAt, slot_id: local.slot_id };
      var judgeOffline = function () {
        O.queue.add({ code: code, scan_id: scan.scan_id, scanned_at: scannedAt, slot_id: scan.slot_id, device: device,
                      activity_id: a.id, hash: hash, index: local.index, target_slot: local.target_slot,
                      local: { result: local.result, name: local.guest ? local.guest.name : "", party: local.party } });
        if (local.result === "unknown") showProblem(T.cannotCheck, T.noPack);
        else show(local, { offline: true });
        showNet(); showCounts();
      };
      // A ticket this device admitted while offline, not synced yet: the server does not know it, so the
      // device answers (and queues this scan too, to be judged in order when the queue syncs).
      if (!online() || local.from_queue) {
        judgeOffline();
        if (online()) sync();
        return;
      }
      if (O.queue.all().length) sync();
      return request("/api/checkins", { method: "POST", body: Object.assign({ device: device }, scan) }).then(function (r) {
        if (!r.ok) {
          return errorDetail(r).then(function (detail) {
            showProblem(r.status === 401 ? T.loginAgainShort : r.status === 403 ? T.notAllowed : T.cannotCheck, detail);
          });
        }
        return r.json().then(function (res) {
          // Remember the admission in the pack, so that a rescan with no network is refused here too.
          var known = { admitted: device, already_checked_in: res.device }[res.result];
          if (known !== undefined && state.pack && local.index !== undefined && local.target_slot) {
            state.pack.addCheckin(local.index, local.target_slot, Date.parse(res.checked_in_at) || Date.now(), known);
            O.storePack(state.pack);
          }
          show(res, {});
          refreshStatus();
        });
      }, function (err) {
        if (err && err.network) judgeOffline();
      });
    }).then(function () { state.busy = false; }, function () { state.busy = false; });
  }

  // After a failed request, ask the server whether it is reachable again (the browser's "online" event
  // only follows the network interface, not a dead access point).
  function probe() {
    if (!state.netDown || navigator.onLine === false) return;
    fetch("/health", { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      if (!r.ok) return;
      state.netDown = false;
      showNet(); sync(); refreshPack(); refreshStatus();
    }, function () {});
  }

  // ------------------------------------------------------------ syncing the queue

  var syncing = null;
  function sync() {
    if (syncing) return syncing;
    var items = O.queue.all();
    if (!items.length || !online()) return Promise.resolve();
    state.syncing = true; showNet();
    var batch = items.slice(0, 500);
    syncing = request("/api/checkins/batch", { method: "POST", body: {
      device: deviceName(),
      scans: batch.map(function (q) { return { code: q.code, scan_id: q.scan_id, scanned_at: q.scanned_at, slot_id: q.slot_id }; })
    } }, 20000).then(function (r) {
      // The role was taken away: keep the scans, and say so as for an expired login.
      if (r.status === 403) { state.authLost = true; return; }
      if (!r.ok) return;
      return r.json().then(function (body) {
        var found = [];
        body.results.forEach(function (res, i) {
          var q = batch[i], local = q.local || {};
          if (res.result !== local.result) {
            found.push({ scanned_at: q.scanned_at, activity_id: q.activity_id, name: (res.guest && res.guest.name) || local.name || "",
                         local: local.result, server: res.result, device: res.device || "", checked_in_at: res.checked_in_at || null,
                         message: res.message || "" });
          }
        });
        O.conflicts.add(found);
        O.queue.remove(batch.map(function (q) { return q.scan_id; }));
        renderConflicts();
        refreshPack();
        refreshStatus();
      });
    }, function () {}).then(function () {
      state.syncing = false; syncing = null; showNet(); showCounts();
      if (O.queue.all().length && online() && !state.authLost) return sync();
    });
    return syncing;
  }

  function renderConflicts() {
    var items = O.conflicts.all(), list = $("conflict-list");
    list.textContent = "";
    items.forEach(function (c) {
      var li = document.createElement("li");
      var a = findActivity(c.activity_id), tz = zoneOf(a);
      var server = titleFor({ result: c.server });
      if (c.server === "already_checked_in" && c.checked_in_at) {
        server += " " + fmt(T.alreadyDetail, { time: timeIn(c.checked_in_at, tz), device: c.device || T.aScanner });
      } else if (c.message) {
        server += ": " + c.message;
      }
      li.textContent = fmt(T.conflictLine, { time: timeIn(c.scanned_at, tz), name: c.name || T.unknownGuest,
                                             local: c.local === "unknown" ? T.notChecked : titleFor({ result: c.local }), server: server });
      li.dataset.server = c.server;
      list.appendChild(li);
    });
    $("conflicts").hidden = items.length === 0;
  }

  // ------------------------------------------------------------ camera

  var cam = { stream: null, detector: null, worker: null, canvas: null, ctx: null, timer: null, pending: false, frameId: 0, on: false };

  function cameraMessage(text) { $("camera-msg").textContent = text || ""; $("camera-msg").hidden = !text; }

  function startCamera() {
    if (cam.on) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { cameraMessage(T.cameraNone); setCameraButton(); return; }
    cam.on = true;
    setCameraButton();
    cameraMessage(T.cameraStarting);
    var video = $("video");
    navigator.mediaDevices.getUserMedia({ audio: false, video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } } })
      .then(function (stream) {
        if (!cam.on) { stream.getTracks().forEach(function (t) { t.stop(); }); return; }
        cam.stream = stream;
        video.srcObject = stream;
        return video.play().then(makeDecoder).then(function () { cameraMessage(""); root.dataset.camera = "on"; tick(); });
      })
      .catch(function (e) {
        cam.on = false; setCameraButton();
        cameraMessage(e && (e.name === "NotAllowedError" || e.name === "SecurityError") ? T.cameraBlocked : T.cameraNone);
      });
  }

  function makeDecoder() {
    if (cam.detector || cam.worker) return Promise.resolve();
    var useWorker = function () {
      cam.worker = new Worker("/static/js/scanner-decoder.js");
      cam.worker.onmessage = function (e) { cam.pending = false; if (e.data.code) handleCode(e.data.code, "camera"); };
      cam.worker.onerror = function () { cam.pending = false; };
      root.dataset.decoder = "jsqr";
    };
    if (!("BarcodeDetector" in window)) { useWorker(); return Promise.resolve(); }
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") === -1) return useWorker();
      cam.detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      root.dataset.decoder = "native";
    }, useWorker);
  }

  function tick() {
    if (!cam.on) return;
    cam.timer = setTimeout(tick, FRAME_MS);
    var video = $("video");
    if (cam.pending || video.readyState < 2 || !video.videoWidth || document.hidden) return;
    if (cam.detector) {
      cam.pending = true;
      cam.detector.detect(video).then(function (codes) {
        cam.pending = false;
        if (codes.length && codes[0].rawValue) handleCode(codes[0].rawValue, "camera");
      }, function () { cam.pending = false; });
      return;
    }
    var scale = Math.min(1, MAX_FRAME_WIDTH / video.videoWidth);
    var w = Math.round(video.videoWidth * scale), h = Math.round(video.videoHeight * scale);
    if (!cam.canvas) { cam.canvas = document.createElement("canvas"); cam.ctx = cam.canvas.getContext("2d", { willReadFrequently: true }); }
    if (cam.canvas.width !== w) { cam.canvas.width = w; cam.canvas.height = h; }
    cam.ctx.drawImage(video, 0, 0, w, h);
    var img = cam.ctx.getImageData(0, 0, w, h);
    cam.pending = true;
    cam.worker.postMessage({ id: ++cam.frameId, width: w, height: h, buffer: img.data.buffer }, [img.data.buffer]);
  }

  function stopCamera() {
    cam.on = false;
    clearTimeout(cam.timer);
    if (cam.stream) cam.stream.getTracks().forEach(function (t) { t.stop(); });
    cam.stream = null;
    cam.pending = false;
    $("video").srcObject = null;
    root.dataset.camera = "off";
    setCameraButton();
  }

  function setCameraButton() { $("camera-toggle").textContent = cam.on ? T.cameraStop : T.cameraStart; }

  // ------------------------------------------------------------ wiring

  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/scan-sw.js", { scope: "/scan" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () { showReady(); }, function () { showReady(); });
    navigator.serviceWorker.addEventListener("controllerchange", showReady);
  }

  function init() {
    var data = activitiesData() || { programs: [], spaces: [], activities: [], generated_at: "" };
    setData(data);
    var device = $("device-name");
    device.value = deviceName();
    device.addEventListener("change", function () {
      var v = device.value.trim().slice(0, 60);
      if (v) localStorage.setItem(PREFS.device, v);
      device.value = deviceName();
    });
    $("activity-list").addEventListener("click", function (e) {
      var b = e.target.closest("button[data-activity]");
      if (b) startRun({ mode: "activity", activity_id: parseInt(b.dataset.activity, 10), slot_id: null });
    });
    $("follow-space").addEventListener("click", function () {
      var id = parseInt($("space-pick").value, 10);
      if (!id) return;
      localStorage.setItem(PREFS.space, String(id));
      startRun({ mode: "space", space_id: id });
    });
    $("change").addEventListener("click", backToSetup);
    $("slot-pick").addEventListener("change", function () {
      if (state.selection && state.selection.mode === "activity") {
        state.selection.slot_id = chosenSlot();
        saveSelection(state.selection);
      }
      showCounts();
    });
    $("camera-toggle").addEventListener("click", function () { wakeAudio(); if (cam.on) stopCamera(); else startCamera(); });
    $("rescan").addEventListener("click", function () {
      wakeAudio();
      state.lastCode = null; state.lastAccepted = 0; state.lastSeen = 0;
      showIdle();
    });
    $("manual").addEventListener("submit", function (e) {
      e.preventDefault();
      wakeAudio();
      var input = $("manual-code"), code = input.value;
      input.value = "";
      handleCode(code, "manual").then(function () { input.focus(); });
    });
    $("conflicts-clear").addEventListener("click", function () { O.conflicts.clear(); renderConflicts(); });
    window.addEventListener("online", function () { state.netDown = false; showNet(); sync(); refreshPack(); refreshStatus(); });
    window.addEventListener("offline", function () { showNet(); showCounts(); });
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) { if (cam.on) { stopCamera(); cam.resume = true; } }
      else if (cam.resume && root.dataset.state === "run") { cam.resume = false; startCamera(); }
    });
    setInterval(function () { if (state.netDown) probe(); else sync(); }, SYNC_EVERY);
    setInterval(function () {
      if (navigator.onLine === false) return;
      if (!state.activity) refreshActivities(); else refreshStatus();
    }, STATUS_EVERY);
    setInterval(refreshPack, PACK_EVERY);
    setInterval(function () { refreshActivities(); }, ACTIVITIES_EVERY);
    setInterval(function () { if (state.selection && state.selection.mode === "space") chooseActivity(); }, 30000);

    renderList();
    renderConflicts();
    registerWorker();
    var saved = O.load(PREFS.selection, null);
    if (saved && (saved.mode === "space" || findActivity(saved.activity_id))) startRun(saved);
    showNet();
    sync();
    refreshActivities();
    root.dataset.js = "ready";
  }

  init();
})();
