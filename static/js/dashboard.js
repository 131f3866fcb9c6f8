// Live dashboard: counts arrive as server-sent events; if the stream cannot be held,
// the page polls the JSON status every 10 seconds and tries the stream again now and then.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) return;
  var text = root.dataset;
  var stateEl = document.getElementById("live-state");
  var updatedEl = document.getElementById("live-updated");
  var POLL_MS = 10000, SILENCE_MS = 45000, RETRY_STREAM_EVERY = 6;
  var source = null, pollTimer = null, watchdog = null, lastMessage = 0, polls = 0, planned = false;

  function show(mode) {
    if (stateEl.dataset.mode === mode) return;
    stateEl.dataset.mode = mode;
    stateEl.textContent = text["text" + mode.charAt(0).toUpperCase() + mode.slice(1)] || mode;
  }

  function value(v) { return v === null || v === undefined ? text.textNone : String(v); }

  function setAll(nodes, v) {
    for (var i = 0; i < nodes.length; i++) if (nodes[i].textContent !== value(v)) nodes[i].textContent = value(v);
  }

  function flash(row) {
    row.classList.add("moved");
    setTimeout(function () { row.classList.remove("moved"); }, 1500);
  }

  function apply(status, changed) {
    var rows = root.querySelectorAll("tr[data-activity]");
    var have = Array.prototype.map.call(rows, function (r) { return r.dataset.activity; }).sort().join(",");
    var want = status.activities.map(function (a) { return String(a.id); }).sort().join(",");
    if (have !== want) { window.location.reload(); return; }  // an activity was added or removed: the page lays it out
    ["checked_in", "expected", "no_shows", "waitlist", "kits"].forEach(function (k) {
      setAll(root.querySelectorAll('[data-total="' + k + '"]'), status.totals[k]);
    });
    status.activities.forEach(function (a) {
      var row = root.querySelector('tr[data-activity="' + a.id + '"]');
      ["checked_in", "expected", "no_shows", "waitlist", "kits"].forEach(function (k) {
        setAll(row.querySelectorAll(':scope > td[data-field="' + k + '"]'), a[k]);
      });
      var meter = row.querySelector("[data-meter]");
      if (meter) meter.style.width = (a.expected ? Math.min(100, Math.round(100 * a.checked_in / a.expected)) : 0) + "%";
      a.slots.forEach(function (s) {
        var li = row.querySelector('[data-slot="' + s.id + '"]');
        if (!li) return;
        ["checked_in", "expected", "no_shows", "waitlist"].forEach(function (k) {
          setAll(li.querySelectorAll('[data-field="' + k + '"]'), s[k]);
        });
      });
      if (changed && changed.indexOf(a.id) !== -1) flash(row);
    });
    status.spaces.forEach(function (s) {
      var li = root.querySelector('[data-space="' + s.space_id + '"]');
      if (!li) return;
      setAll(li.querySelectorAll('[data-field="inside"]'), s.inside);
      setAll(li.querySelectorAll('[data-field="capacity"]'), s.capacity);
      li.classList.toggle("full", s.full);
      li.classList.toggle("warning", s.warning && !s.full);
      li.querySelector('[data-flag="full"]').hidden = !s.full;
      li.querySelector('[data-flag="warning"]').hidden = s.full || !s.warning;
    });
    updatedEl.textContent = status.generated_at.slice(11, 19);
  }

  function closeStream() {
    if (source) { source.close(); source = null; }
    if (watchdog) { clearInterval(watchdog); watchdog = null; }
  }

  function openStream() {
    if (!("EventSource" in window)) return false;
    closeStream();
    var es = new EventSource(root.dataset.eventsUrl);
    source = es;
    lastMessage = Date.now();
    es.addEventListener("status", function (e) {
      lastMessage = Date.now();
      var msg;
      try { msg = JSON.parse(e.data); } catch (err) { return; }
      stopPolling();
      show("live");
      apply(msg.status, msg.changed);
    });
    es.addEventListener("gone", function () { closeStream(); startPolling(); });
    // The server ends each stream after a while; the browser reconnects by itself, nothing to show.
    es.addEventListener("reconnect", function () { planned = true; });
    es.onerror = function () {
      // CLOSED: the server refused the stream (an error status, no plugin); CONNECTING: the browser retries.
      if (es.readyState === EventSource.CLOSED) { closeStream(); startPolling(); }
      else if (!pollTimer && !planned) show("connecting");
      planned = false;
    };
    // A proxy that buffers the stream leaves it open but silent; the server speaks at least every 20 s.
    watchdog = setInterval(function () {
      if (Date.now() - lastMessage > SILENCE_MS) { closeStream(); startPolling(); }
    }, 5000);
    return true;
  }

  function poll() {
    polls += 1;
    fetch(root.dataset.statusUrl, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (res) {
        if (res.status === 401 || res.status === 403 || res.status === 404) { window.location.reload(); throw new Error("gone"); }
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (status) { if (pollTimer) show("polling"); apply(status, []); })
      .catch(function () { show("offline"); });
    if (polls % RETRY_STREAM_EVERY === 0 && !source) openStream();
  }

  function startPolling() {
    if (pollTimer) return;
    show("polling");
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  show("connecting");
  if (!openStream()) startPolling();
})();
