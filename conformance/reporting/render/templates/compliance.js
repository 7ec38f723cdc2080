
(function () {
  var query = document.getElementById("q");
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[data-status]"));
  var rules = Array.prototype.slice.call(document.querySelectorAll("tbody.rule"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.category"));
  var shown = document.getElementById("shown");
  function apply() {
    var text = query.value.trim().toLowerCase();
    var wanted = {};
    boxes.forEach(function (box) { wanted[box.getAttribute("data-status")] = box.checked; });
    var count = 0;
    rules.forEach(function (rule) {
      var visible = wanted[rule.getAttribute("data-status")] !== false &&
        (text === "" || rule.getAttribute("data-search").indexOf(text) !== -1);
      rule.hidden = !visible;
      if (visible) { count += 1; }
    });
    sections.forEach(function (section) {
      section.hidden = section.querySelector("tbody.rule:not([hidden])") === null;
    });
    shown.textContent = count + " of " + rules.length + " rules shown";
  }
  function expand(open) {
    Array.prototype.forEach.call(document.querySelectorAll("details.evidence"), function (d) { d.open = open; });
  }
  query.addEventListener("input", apply);
  boxes.forEach(function (box) { box.addEventListener("change", apply); });
  document.getElementById("expand").addEventListener("click", function () { expand(true); });
  document.getElementById("collapse").addEventListener("click", function () { expand(false); });
  apply();
  var reveal = qsconformStickyBar();  // reveal.js
  // A link to a rule (#its-id) shows it, its evidence open, even when the filter hid it, below the sticky bar.
  function openLinked() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id ? document.getElementById(id) : null;
    if (target === null) { return; }
    if (target.hidden) {
      query.value = "";
      boxes.forEach(function (box) { box.checked = true; });
      apply();
    }
    var details = target.querySelector("details.evidence");
    if (details !== null) { details.open = true; }
    reveal(target);
  }
  window.addEventListener("hashchange", openLinked);
  window.addEventListener("load", openLinked);  // again once laid out: the browser's own jump to the fragment is done
  openLinked();
  document.documentElement.setAttribute("data-js", "ready");
})();
