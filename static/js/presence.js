// Inside now: +/− taps sent as JSON, in order, each with its own scan id so a retry never counts twice.
// Taps made without network are kept (also across a reload) and sent when it returns.
(function () {
  "use strict";
  var root = document.getElementById("presence");
  if (!root) return;
  var url = root.dataset.url;
  var key = "presence-queue:" + url;
  var taps = document.getElementById("presence-taps");
  var forceForm = document.getElementById("presence-force");
  var syncEl = document.getElementById("presence-sync");
  var errorEl = document.getElementById("presence-error");
  var insideEl = root.querySelector('[data-field="inside"]');
  var capacityEl = root.querySelector('[data-field="capacity"]');
  var meter = root.querySelector("[data-meter]");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var queue = load(), sending = false, refusedScanId = null;

  function load() { try { return JSON.parse(localStorage.getItem(key)) || []; } catch (e) { return []; } }
  function save() { try { localStorage.setItem(key, JSON.stringify(queue)); } catch (e) { /* private mode: memory only */ } }
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : (meta ? meta.content : "");
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "p-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function render(state) {
    insideEl.textContent = state.inside;
    capacityEl.textContent = state.capacity;
    meter.style.width = Math.min(100, Math.round(100 * state.inside / Math.max(1, state.capacity))) + "%";
    root.classList.toggle("full", state.full);
    root.classList.toggle("warning", state.warning && !state.full);
    document.getElementById("presence-full").hidden = !state.full;
    document.getElementById("presence-warning").hidden = state.full || !state.warning;
  }

  function showSync() {
    syncEl.textContent = queue.length ? queue.length + " " + root.dataset.textPending : "";
  }

  function showError(message) {
    errorEl.textContent = message || "";
    errorEl.hidden = !message;
  }

  function send() {
    if (sending || !queue.length) { showSync(); return; }
    sending = true;
    var tap = queue[0];
    fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrftoken": csrf(), "x-device": "presence page" },
      body: JSON.stringify(tap)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        queue.shift(); save(); sending = false;
        if (res.ok) {
          showError("");
          render(body);
        } else if (res.status === 401) {
          window.location.reload();
        } else if (res.status === 409 && body.extra && body.extra.result === "full") {
          render(body.extra);
          refusedScanId = tap.scan_id;
          forceForm.hidden = false;
          showError("");  // the "Full" notice says it
          if (navigator.vibrate) navigator.vibrate([60, 60, 60]);
        } else {
          showError(body.detail || ("HTTP " + res.status));
        }
        send();
      });
    }).catch(function () {
      // No network: keep the tap and try again; its scan id makes the retry safe.
      sending = false;
      syncEl.textContent = root.dataset.textOffline + " (" + queue.length + ")";
      setTimeout(send, 3000);
    });
  }

  function tap(direction, force, scanId) {
    if (navigator.vibrate) navigator.vibrate(15);
    forceForm.hidden = true;
    queue.push({ direction: direction, scan_id: scanId || newId(), force: !!force });
    save();
    // Show the tap at once; the server's answer corrects it.
    var n = parseInt(insideEl.textContent, 10) || 0;
    var cap = parseInt(capacityEl.textContent, 10) || 1;
    if (direction === "out") n = Math.max(0, n - 1);
    else if (force || n < cap) n += 1;
    render({ inside: n, capacity: cap, full: n >= cap, warning: n * 10 >= cap * 9 });
    showSync();
    send();
  }

  taps.addEventListener("submit", function (e) {
    e.preventDefault();
    var direction = e.submitter && e.submitter.value;
    if (direction === "in" || direction === "out") tap(direction, false);
  });
  forceForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var id = refusedScanId || forceForm.querySelector('[name="scan_id"]').value;
    refusedScanId = null;
    tap("in", true, id);
  });

  // Other doors count too: refresh while nothing of ours is waiting.
  setInterval(function () {
    if (document.hidden || queue.length || sending) return;
    fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (state) { if (state && !queue.length && !sending) render(state); })
      .catch(function () { /* the next tick tries again */ });
  }, 5000);

  send();
})();
