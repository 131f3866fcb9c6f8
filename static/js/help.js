// The help hub: filter the country list as you type (names in five languages, accents ignored),
// and keep visited help pages for offline use through a service worker scoped to /help.
(function () {
  "use strict";
  var fold = function (s) {
    return s.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9]+/g, " ").trim();
  };
  var input = document.getElementById("q");
  var list = document.getElementById("countries");
  var count = document.getElementById("count");
  if (input && list) {
    var items = Array.prototype.slice.call(list.children);
    var filter = function () {
      var q = fold(input.value);
      var shown = 0;
      items.forEach(function (li) {
        var hit = !q || li.getAttribute("data-n").split("|").some(function (n) { return n.indexOf(q) !== -1; });
        li.hidden = !hit;
        if (hit) { shown += 1; }
      });
      if (count) { count.textContent = q ? count.getAttribute("data-template").replace("%n", shown) : ""; }
    };
    if (count) { count.setAttribute("data-template", list.getAttribute("data-count") || "%n"); }
    input.addEventListener("input", filter);
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/help/sw.js", { scope: "/help" }).catch(function () {});
  }
})();
