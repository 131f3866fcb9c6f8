// Inventory pages: a print button for the pack list (hidden without JavaScript; the browser's own print works too).
(function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
