/* Sizes and positions computed on the server, applied here: the Content-Security-Policy allows no
   inline style attributes. Only numbers are read from the data attributes. */
(function () {
  "use strict";
  function num(el, name) {
    var v = parseFloat(el.getAttribute(name));
    return isFinite(v) ? v : null;
  }
  function apply(root) {
    root.querySelectorAll("[data-width]").forEach(function (el) {
      var w = num(el, "data-width");
      if (w !== null) el.style.width = Math.max(0, Math.min(100, w)) + "%";
    });
    root.querySelectorAll("[data-top]").forEach(function (el) {
      var t = num(el, "data-top");
      if (t !== null) el.style.top = t + "rem";
      var h = num(el, "data-height");
      if (h !== null) el.style.height = h + "rem";
    });
    root.querySelectorAll("[data-cols]").forEach(function (el) {
      var c = num(el, "data-cols"), h = num(el, "data-hours");
      if (c !== null) el.style.setProperty("--cols", String(c));
      if (h !== null) el.style.setProperty("--hours", String(h));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { apply(document); });
  else apply(document);
})();
