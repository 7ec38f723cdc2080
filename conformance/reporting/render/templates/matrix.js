
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
  var reveal = qsconformStickyBar();  // reveal.js
  // A link to a rule's row (#its-id) shows it below the sticky bar, even when only the changed rules were shown.
  function openLinked() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id ? document.getElementById(id) : null;
    if (target === null || target.tagName !== "TR") { return; }
    if (target.hidden) {
      only.checked = false;
      apply();
    }
    reveal(target);
  }
  window.addEventListener("hashchange", openLinked);
  window.addEventListener("load", openLinked);
  openLinked();
  document.documentElement.setAttribute("data-js", "ready");
})();
