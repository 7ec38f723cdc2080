"""compliance.html and matrix.html as a reader sees them at 1000 px, measured in headless Chromium: a link to any
rule (its id as it is, brackets included) lands on that rule, fully visible under the sticky filter bar, its
evidence open; no cell's content runs into the next column; the matrix opens on the scores, then what changed,
its header words unbroken, each rule linking to that report's evidence.

A probe script, added to a copy of the page (its hash added to the page's Content-Security-Policy, as the
page's own script is), measures the page once it has loaded and written the result into the DOM that Chromium
dumps."""
from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import struct

import pytest

from qsconform.conformance.reporting.render import html as page
from qsconform.conformance.reporting.render import matrix
from qsconform.conformance.reporting.render.sample import sample_document
from test_render_html import browse
from test_render_matrix import SOURCES

pytestmark = pytest.mark.browser

PROBE = """
(function () {
  function box(el) {
    var r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
  }
  function label(el) { return el.tagName + "." + el.className + " " + (el.textContent || "").slice(0, 40); }
  function measure() {
    var out = {scrollY: window.scrollY, width: window.innerWidth, height: window.innerHeight, overflow: [],
               broken: [], sections: []};
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id ? document.getElementById(id) : null;
    if (target !== null) {
      var first = target.tagName === "TBODY" ? target.rows[0] : target;
      out.target = box(first);
      out.open = target.querySelector("details.evidence") !== null ? target.querySelector("details.evidence").open
                                                                      : null;
    }
    var bar = Array.prototype.filter.call(document.querySelectorAll(".filter"),
                                          function (b) { return b.offsetParent !== null; })[0];
    out.bar = bar ? box(bar) : null;
    Array.prototype.forEach.call(document.querySelectorAll("td"), function (td) {
      if (td.offsetParent === null) { return; }
      var cell = td.getBoundingClientRect();
      var walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
      for (var node = walker.nextNode(); node !== null; node = walker.nextNode()) {
        if (node.parentElement.offsetParent === null || !node.data.trim()) { continue; }
        var range = document.createRange();
        range.selectNodeContents(node);
        var r = range.getBoundingClientRect();  // the text itself, wherever its box ends
        if (r.width > 0 && (r.right > cell.right + 0.5 || r.left < cell.left - 0.5)) {
          out.overflow.push(label(node.parentElement));
        }
      }
    });
    var words = "table.reports td:not(.file):not(.versions), table.matrix th";  // a path, a list: break anywhere
    Array.prototype.forEach.call(document.querySelectorAll(words), function (td) {
      var walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
      for (var node = walker.nextNode(); node !== null; node = walker.nextNode()) {
        var re = /\\S+/g, m;
        while ((m = re.exec(node.data)) !== null) {
          var range = document.createRange();
          range.setStart(node, m.index);
          range.setEnd(node, m.index + m[0].length);
          var lines = {};
          Array.prototype.forEach.call(range.getClientRects(), function (r) { lines[Math.round(r.top)] = 1; });
          if (Object.keys(lines).length > 1) { out.broken.push(m[0]); }
        }
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll("body > section[id]"), function (s) {
      out.sections.push([s.id, s.getBoundingClientRect().top + window.scrollY]);
    });
    document.body.setAttribute("data-probe", JSON.stringify(out));
  }
  window.addEventListener("load", function () { setTimeout(measure, 200); });
})();
"""


def with_probe(text: str) -> str:
    """The page with the probe script added, the page's policy allowing it by its hash."""
    digest = "'sha256-" + base64.b64encode(hashlib.sha256(PROBE.encode()).digest()).decode() + "'"
    text = text.replace("script-src ", f"script-src {digest} ", 1)
    return text.replace("</body>", f"<script>{PROBE}</script></body>")


def measured(tmp_path, text: str, fragment: str = "", width: int = 1000, height: int = 800, name: str = "page"):
    path = tmp_path / f"{name}.html"
    path.write_text(with_probe(text), encoding="utf-8")
    done = browse(tmp_path, "--dump-dom", "--virtual-time-budget=5000", f"--window-size={width},{height}",
                  path.as_uri() + fragment)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, done.stdout[-2000:]
    return json.loads(html.unescape(found.group(1)))


def with_bracketed_failure():
    """The sample document with a failed rule whose id holds brackets, listed far down the page."""
    doc = sample_document()
    rule = next(r for r in doc["rules"] if r["status"] == "failed")
    rule["id"] = "RegisterUser.Tags[].Key.required"
    rule["category"] = "lifecycle"  # the last category: the page must scroll to it
    return doc, rule["id"]


def test_a_link_to_any_rule_lands_on_it_fully_visible_under_the_sticky_bar(tmp_path):
    doc, rule_id = with_bracketed_failure()
    text = page.render_html(doc)
    for fragment in (f"#rule-{rule_id}", "#rule-RegisterUser.Tags%5B%5D.Key.required"):  # as typed, and encoded
        got = measured(tmp_path, text, fragment)
        assert got["scrollY"] > 0  # not the top of the page
        assert got["target"]["top"] >= got["bar"]["bottom"] - 0.5, got  # not under the sticky bar
        assert got["target"]["bottom"] <= got["height"], got  # on the screen
        assert got["open"] is True  # its evidence open


def test_no_cell_runs_into_the_next_column_at_1000_px(tmp_path):
    doc = sample_document()  # a MUST rule advisory on an inferred part: "MUST, deviation SHOULD" in its level cell
    for rule in doc["rules"]:
        if rule["status"] == "failed" and rule.get("example"):
            rule["example"]["level"] = "OBSERVED"  # "deviation OBSERVED": the longest level text
    got = measured(tmp_path, page.render_html(doc))
    assert got["overflow"] == []


@pytest.mark.parametrize("which", ["compliance", "matrix"])
def test_a_screenshot_at_1000_px_is_drawn(tmp_path, which):
    """(Headless Chromium draws a page scrolled to a fragment blank: the geometry above is measured instead.)"""
    text = page.render_html(with_bracketed_failure()[0]) if which == "compliance" else \
        matrix.render_html(_matrix_docs(), SOURCES)
    path = tmp_path / f"{which}.html"
    path.write_text(text, encoding="utf-8")
    shot = tmp_path / "shot.png"
    drawn = browse(tmp_path, f"--screenshot={shot}", "--window-size=1000,800", path.as_uri())
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    png = shot.read_bytes()
    assert struct.unpack(">II", png[16:24]) == (1000, 800) and len(png) > 20_000


# -- the matrix ---------------------------------------------------------------------------------------------

def _matrix_docs():
    from test_render_matrix import _set

    new, old, reference = sample_document(), sample_document(), sample_document()
    old["versions"]["moto"] = "5.0.1"
    _set(old, "RegisterUser.UserName.pattern", status="passed", example=None)
    _set(old, "UpdateUser.Role.enum", status="failed", message="accepted <b>role</b> | READERS")
    reference["target"]["name"] = "reference"
    reference["rules"] = [r for r in reference["rules"] if r["id"] != "RegisterUser.Tags.min_items"]
    _set(reference, "UpdateUser.response.request-id-header", status="passed", example=None)
    return [new, old, reference]


def test_the_matrix_opens_on_the_scores_then_what_changed_its_header_unbroken(tmp_path):
    got = measured(tmp_path, matrix.render_html(_matrix_docs(), SOURCES), name="matrix")
    assert [s for s, _ in got["sections"]] == ["scores", "changed", "all"]
    assert dict(got["sections"])["scores"] < got["height"]  # on the first screen
    assert got["broken"] == []  # no word of the table of reports or of a column heading broken
    assert got["overflow"] == []


def test_the_matrix_links_each_rule_to_each_report_s_evidence(tmp_path):
    docs = _matrix_docs()
    reports = []
    for name, doc in zip(("moto-5.2", "moto-5.0", "reference"), docs):
        (tmp_path / "reports" / name).mkdir(parents=True)
        (tmp_path / "reports" / name / "compliance.html").write_text(with_probe(page.render_html(doc)), "utf-8")
        reports.append(str(tmp_path / "reports" / name))
    out = tmp_path / "reports" / "matrix"
    [written, _] = matrix.write_matrix(docs, reports, out)
    text = written.read_text(encoding="utf-8")
    links = re.findall(r'<a class="evidence" href="([^"#]+)#(rule-[^"]+)"', text)
    assert ("../moto-5.0/compliance.html", "rule-UpdateUser.Role.enum") in links
    assert ("../reference/compliance.html", "rule-RegisterUser.UserName.pattern") in links
    assert not [href for href, anchor in links if href.startswith(("/", "http:", "https:", "file:"))]
    # followed, the link lands on that rule in that report, its evidence open
    href, anchor = next((h, a) for h, a in links if a == "rule-UpdateUser.Role.enum" and "moto-5.0" in h)
    target = (out / href).resolve()
    done = browse(tmp_path, "--dump-dom", "--virtual-time-budget=5000", "--window-size=1000,800",
                  target.as_uri() + "#" + anchor)
    got = json.loads(html.unescape(re.search(r'data-probe="([^"]*)"', done.stdout).group(1)))
    assert got["target"]["top"] >= got["bar"]["bottom"] - 0.5 and got["open"] is True
