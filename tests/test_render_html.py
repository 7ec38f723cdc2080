"""compliance.html: well-formed, self-contained (nothing fetched), every hostile string escaped, and it
really renders: headless Chromium runs its script and draws it."""
from __future__ import annotations

import base64
import hashlib
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from qsconform.conformance.judging.baseline import Accepted, Baseline, compare
from qsconform.conformance.reporting.render.common import STATUSES
from qsconform.conformance.reporting.render.html import render_html
from qsconform.conformance.reporting.render.sample import sample_document

FAILED = ["RegisterUser.IamArn.iam-requires-arn", "RegisterUser.UserName.pattern",
          "RegisterUser.response.content_type", "UpdateUser.lifecycle.missing-user-not-found"]
ADVISORIES = ["RegisterUser.Email.max_length", "UpdateUser.response.request-id-header"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
URL_ATTRIBUTES = {"src", "href", "action", "formaction", "data", "poster", "srcset", "xlink:href", "background", "ping"}


class Page(HTMLParser):
    """A strict reading of the page: every element closed in order, attributes and raw texts collected."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.elements: list[tuple[str, dict]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self.text: list[str] = []
        self.feed(text)
        self.close()
        if self.rawdata:
            self.errors.append(f"unparsed rest: {self.rawdata[:80]!r}")
        if self.stack:
            self.errors.append(f"never closed: {self.stack}")

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag not in VOID:
            self.errors.append(f"self-closed <{tag}/>")

    def handle_endtag(self, tag):
        if tag in VOID:
            self.errors.append(f"end tag of void element </{tag}>")
        elif not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] in self.raw:
            self.raw[self.stack[-1]].append(data)
        else:
            self.text.append(data)

    def all(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def classed(self, tag: str, *classes: str) -> list[dict]:
        """Elements of `tag` whose class attribute holds all of `classes`."""
        return [a for t, a in self.elements if t == tag and set(classes) <= set((a.get("class") or "").split())]


def anchor(rule_id: str) -> str:
    return f"rule-{rule_id.replace('[', '-').replace(']', '-')}"


@pytest.fixture
def doc():
    return sample_document()


@pytest.fixture
def page_text(doc):
    return render_html(doc)


@pytest.fixture
def page(page_text):
    return Page(page_text)


def test_parses_without_errors(page):
    assert page.errors == []
    assert [t for t, _ in page.elements][:2] == ["html", "head"]


def test_nothing_is_fetched(page, page_text):
    assert page.all("link") == [] and page.all("iframe") == [] and page.all("object") == []
    assert page.all("img") == [] and page.all("base") == []
    for tag, attrs in page.elements:
        for name, value in attrs.items():
            if name in URL_ATTRIBUTES:
                assert (value or "").startswith("#"), f"<{tag} {name}={value!r}>: only in-page links"
    style = "".join(page.raw["style"])
    assert "url(" not in style and "@import" not in style
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page_text)


def test_content_security_policy_pins_the_page_own_style_and_script(page):
    (meta,) = page.all("meta", **{"http-equiv": "Content-Security-Policy"})
    policy = meta["content"]
    assert "default-src 'none'" in policy
    for kind, src in (("script", "script-src"), ("style", "style-src")):
        (body,) = page.raw[kind]
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{src} 'sha256-{digest}'" in policy
    assert "unsafe-inline" not in policy
    assert len(page.all("script")) == 1 and len(page.all("style")) == 1
    for tag, attrs in page.elements:
        assert not [a for a in attrs if a.startswith("on")], f"event handler attribute on <{tag}>"
        assert "style" not in attrs, f"style attribute on <{tag}> (the policy would block it)"


def test_hostile_text_is_escaped_yet_shown(page, page_text):
    assert "<script>alert" not in page_text
    assert "<b>bold" not in page_text
    assert "\x07" not in page_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page_text
    text = "".join(page.text)
    assert "<script>alert(1)</script> | pipe" in text  # what a reader sees, verbatim
    assert '{"User": {"UserName": "<script>alert(1)</script>"' in text
    assert "X-Evil: <b>bold</b>" in text
    assert "new line \\x07 bell é" in text
    assert '"UserName": "é|<x>"' in text


def test_scores_and_failures_present(page):
    text = " ".join(page.text)
    for score in ("62.5 %", "75 %", "66.7 %"):
        assert score in text
    rules = page.all("tbody")
    assert len(rules) == 17
    failed = [a["id"] for a in rules if a["data-status"] == "failed"]
    assert sorted(failed) == sorted(anchor(r) for r in FAILED)
    assert len(page.classed("details", "evidence", "failed")) == len(FAILED)
    assert "4 rules failed: the run fails." in text
    assert "curl --include" in text and "qsconform run --target moto --profile quick --seed 123" in text


def test_rules_grouped_by_category(page):
    sections = [a["id"] for a in page.all("section", **{"class": "category"})]
    assert sections == ["category-constraint", "category-cross-field", "category-protocol", "category-response",
                        "category-error-shape", "category-lifecycle"]


def test_filter_controls(page):
    assert page.all("input", type="search", id="q")
    assert [a["data-status"] for a in page.all("input", type="checkbox")] == list(STATUSES) == [
        "passed", "failed", "advisory", "inconclusive", "unsupported", "skipped", "unsent", "not-run", "deselected"]
    searchable = [a["data-search"] for a in page.all("tbody")]
    assert any("<script>alert(1)</script>" in s for s in searchable)  # attribute escaped, value intact


def test_advisories_are_expandable_with_their_evidence_and_colour(page, page_text):
    advisories = [a["id"] for a in page.all("tbody") if a["data-status"] == "advisory"]
    assert sorted(advisories) == sorted(anchor(r) for r in ADVISORIES)
    assert len(page.classed("details", "evidence", "advisory")) == len(ADVISORIES)
    assert len(page.classed("span", "badge", "s-advisory")) == len(ADVISORIES)
    text = " ".join(page.text)
    assert "Evidence: 1 of 9 examples deviated" in text and "Evidence: 7 of 7 examples deviated" in text
    assert '{"__type": "ValidationException", "message": "<b>too long</b>"}' in text
    assert "qsconform run --target moto --profile quick --seed 77" in text
    assert "deviation SHOULD" in text  # a MUST rule, advisory on the inferred error type: both levels shown
    assert "2 advisories" in text and "1 advisory" in text  # beside the scores: total, and per operation
    style = "".join(page.raw["style"])
    assert "--advisory: #" in style and ".s-advisory { background: var(--advisory); }" in style
    assert "details.evidence.advisory > summary { color: var(--advisory); }" in style


def test_statuses_are_explained(page):
    text = " ".join(page.text)
    assert "What the statuses mean" in text
    assert "no source says what the real API answers, so the suite sends nothing for it" in text
    assert "left out of this run (-k, --shard, --rule)" in text


def test_a_strict_run_fails_on_its_advisories(doc):
    for rule in doc["rules"]:
        if rule["status"] == "failed":
            rule["status"] = "passed"
    assert "No rule failed: the run passes. 2 advisories listed" in " ".join(Page(render_html(doc)).text)
    doc["strict"] = True
    page = Page(render_html(doc))
    text = " ".join(page.text)
    assert "No rule failed, but 2 advisories: the run fails (--strict)." in text
    assert page.classed("p", "verdict", "bad")
    assert "yes: advisories fail the run" in text


def test_a_document_written_before_advisories_renders(doc):
    del doc["strict"]
    for rule in doc["rules"]:
        if rule["status"] in ("advisory", "unsent", "deselected"):
            rule["status"] = "quarantined"  # a status this version does not know (a newer writer's)
    page = Page(render_html(doc))
    assert page.errors == []
    assert [a["data-status"] for a in page.all("input", type="checkbox")][-1] == "quarantined"
    assert len(page.classed("span", "badge", "s-other")) == 4  # an unknown status gets the colour of "other"
    assert "a status this version of qsconform does not know (quarantined)" in " ".join(page.text)


def test_baseline_section(doc):
    outcome = compare(doc, Baseline("moto", None, (Accepted("RegisterUser.UserName.pattern"),
                                                   Accepted("RegisterUser.Email.required"))))
    page_text = render_html(doc, outcome)
    page = Page(page_text)
    assert page.errors == []
    text = " ".join(page.text)
    assert "3 new failures: the run fails." in text
    # the baseline's verdict opens the page, before the scores; the accepted rules folded
    assert page_text.index('<section class="baseline">') < page_text.index("3 new failures") \
        < page_text.index('<section class="scores">')
    assert re.search(r"<details><summary><b>Still accepted", page_text)
    assert "Fixed since the baseline" in text
    assert "New advisories" in text and "they fail a run only under --strict" in text
    links = [a["href"] for a in page.all("a")]
    assert "#rule-RegisterUser.IamArn.iam-requires-arn" in links
    assert "#rule-RegisterUser.Email.required" in links
    assert "#rule-UpdateUser.response.request-id-header" in links  # a new advisory


# -- a real browser --------------------------------------------------------------------------------

def chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("Chromium not installed: apt-get install chromium to run this test")


def browse(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.browser
def test_renders_in_headless_chromium(tmp_path, doc):
    path = tmp_path / "compliance.html"
    path.write_text(render_html(doc), encoding="utf-8")
    dumped = browse(tmp_path, "--dump-dom", path.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    assert 'data-js="ready"' in dom  # the page's script ran to its end under its own CSP
    assert "17 of 17 rules shown" in dom  # ... and filled in the filter's count
    assert "62.5 %" in dom
    assert '<td class="id">RegisterUser.UserName.pattern</td>' in dom.replace("<wbr>", "")
    assert dom.count("<script") == 1 and "<script>alert" not in dom  # the hostile one stayed text

    shot = tmp_path / "shot.png"
    drawn = browse(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", path.as_uri())
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1200, 1600)
    assert len(png) > 20_000  # a drawn page, not a blank one


@pytest.mark.browser
def test_a_link_to_a_rule_opens_its_evidence(tmp_path, doc):
    path = tmp_path / "compliance.html"
    path.write_text(render_html(doc), encoding="utf-8")
    anchor = "rule-RegisterUser.UserName.pattern"
    dumped = browse(tmp_path, "--dump-dom", f"{path.as_uri()}#{anchor}")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    linked = dom[dom.index(f'id="{anchor}"'):]
    linked = linked[:linked.index("</tbody>")]
    assert '<details class="evidence failed" open="">' in linked
    assert dom.count('open=""') == 1  # only that one


def test_the_level_column_does_not_break_a_level():
    assert "td.level { white-space: nowrap; }" in render_html(sample_document())
    assert '<td class="level">OBSERVED' in render_html(sample_document())


def test_a_server_log_is_folded_inside_its_evidence(page, page_text):
    """The log of a server the run started: inside the failure's evidence (below the score), folded, whole,
    hostile text escaped."""
    assert len(page.classed("details", "server-log")) == 1
    start = page_text.index('<details class="server-log">')
    rule = page_text.rindex('<tbody class="rule"', 0, start)
    assert page_text.index(f'id="{anchor("RegisterUser.UserName.pattern")}"', rule) < start
    assert page_text.index('<div class="cards">') < start
    log = page_text[start:page_text.index("</details>", start)]
    assert "Server log (64 lines" in log and "line 159, in dispatch" in log  # every line: the page folds it
    assert "JSONDecodeError: &lt;script&gt;alert(1)&lt;/script&gt;" in log and "<script>" not in log


def test_the_request_pane_shows_the_request_line_as_sent(page):
    """The sample's UpdateUser examples record their request line (PUT, the user's path); their curl lines, copied
    from a RegisterUser example, say POST .../users: the pane shows what was sent."""
    text = "".join(page.text)
    assert "PUT /accounts/123456789012/namespaces/default/users/qsc-1a2b3c4d-missing-0\nContent-Type: application/json" in text
