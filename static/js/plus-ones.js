// Show one set of plus-one questions per plus-one chosen; without JavaScript every set shows.
(function () {
  var input = document.querySelector("[data-plus-ones]");
  var sets = document.querySelectorAll("[data-plus-one]");
  if (!input || !sets.length) return;
  function update() {
    var n = parseInt(input.value, 10) || 0;
    sets.forEach(function (set) {
      var show = parseInt(set.getAttribute("data-plus-one"), 10) <= n;
      set.hidden = !show;
      set.querySelectorAll("input, select").forEach(function (el) {
        el.disabled = !show;
        // A required question asked per plus-one is required for each plus-one shown.
        if (el.hasAttribute("data-required")) el.required = show;
      });
    });
  }
  input.addEventListener("input", update);
  update();
})();
