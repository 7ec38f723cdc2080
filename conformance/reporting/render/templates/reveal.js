
// Before compliance.js and matrix.js (in one script): the sticky filter bar's height, kept for the rows a link
// scrolls to (page.css: scroll-margin-top), and a linked row revealed below the bar.
function qsconformStickyBar() {
  var bar = document.querySelector(".filter");
  function measure() {
    document.documentElement.style.setProperty("--bar-height", bar.getBoundingClientRect().height + "px");
  }
  measure();
  window.addEventListener("resize", measure);
  return function reveal(target) {
    measure();
    target.scrollIntoView();
  };
}
