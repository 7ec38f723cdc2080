
(function () {
  var only = document.getElementById("only-changed");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.rule"));
  var shown = document.getElementById("shown");
  function apply() {
    var count = 0;
    rows.forEach(function (row) {
      row.hidden = only.checked && row.getAttribute("data-changed") !== "yes";
      if (!row.hidden) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " rules shown";
  }
  only.addEventListener("change", apply);
  apply();
  document.documentElement.setAttribute("data-js", "ready");
})();
