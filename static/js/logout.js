// On logout, forget what the scanner kept on this device (short names, ticket hashes, queued codes).
// If scans are still waiting to sync, ask first: logging out would lose them.
(function () {
  var form = document.querySelector('form[action="/logout"]');
  if (!form || !window.localStorage) return;
  form.addEventListener("submit", function (event) {
    var waiting = 0;
    try { waiting = (JSON.parse(localStorage.getItem("planner.scanner.queue") || "[]") || []).length; } catch (e) { waiting = 0; }
    if (waiting && !window.confirm(form.dataset.waitingMessage.replace("%n", waiting))) {
      event.preventDefault();
      return;
    }
    Object.keys(localStorage).forEach(function (k) {
      if (k.indexOf("planner.scanner.") === 0 && k !== "planner.scanner.device") localStorage.removeItem(k);
    });
  });
})();
