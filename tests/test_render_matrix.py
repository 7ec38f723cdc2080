"""qsconform matrix: several compliance.json side by side. What changed comes first and lists exactly the rules
whose status differs; the scores are the single report's; hostile names and messages stay text; bad input is one
line and exit 2; and the page really renders in headless Chromium under its own Content-Security-Policy."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import struct

import pytest

from qsconform.conformance.reporting.render import markdown, matrix
from qsconform.conformance.reporting.render.sample import sample_document
from qsconform.conformance.tools import cli, exits
from test_render_html import URL_ATTRIBUTES, Page, browse

# What the three documents below differ in: the changed section must list these and nothing else.
CHANGED = ["RegisterUser.Tags.min_items",  # skipped, skipped, not in the reference's report
           "RegisterUser.UserName.pattern",  # failed, passed, failed
           "UpdateUser.Role.enum",  # passed, failed, passed
           "UpdateUser.response.request-id-header"]  # advisory, advisory, passed
HEADS = ["moto (moto 5.2.1)", "moto (moto 5.0.1)", "reference"]
HOSTILE_NAME = "<img src=x onerror=alert(1)>|emu\x07"


def _set(doc: dict, rule_id: str, **values) -> dict:
    (rule,) = [r for r in doc["rules"] if r["id"] == rule_id]
    rule.update(values)
    return doc


@pytest.fixture
def docs():
    new, old, reference = sample_document(), sample_document(), sample_document()
    old["versions"]["moto"] = "5.0.1"
    _set(old, "RegisterUser.UserName.pattern", status="passed", example=None)
    _set(old, "UpdateUser.Role.enum", status="failed", message="accepted <b>role</b> | READERS")
    _set(old, "RegisterUser.Email.required", level="SHOULD")  # another level, the same status: not a change
    reference["target"]["name"] = "reference"
    reference["rules"] = [r for r in reference["rules"] if r["id"] != "RegisterUser.Tags.min_items"]
    _set(reference, "UpdateUser.response.request-id-header", status="passed", example=None)
    return [new, old, reference]


SOURCES = ["reports/moto-5.2/compliance.json", "reports/moto-5.0", "reports/reference"]


def cells(line: str) -> list[str]:
    """The cells of a GFM table row, split only on the pipes that are not backslash-escaped."""
    out, cell, escaped = [], "", False
    for char in line.strip()[1:-1]:
        if char == "|" and not escaped:
            out.append(cell.strip())
            cell = ""
        else:
            cell += char
        escaped = char == "\\" and not escaped
    return out + [cell.strip()]


def section(text: str, heading: str) -> list[str]:
    """The table rows of one "## heading" section of the Markdown (header and delimiter rows left out)."""
    lines = text.split("\n## " + heading, 1)[1].split("\n## ", 1)[0].splitlines()
    return [line for line in lines if line.startswith("|")][2:]


# -- the model -------------------------------------------------------------------------------------

def test_changed_is_exactly_the_rules_whose_status_differs(docs):
    assert matrix.changed(docs) == CHANGED
    assert matrix.changed(docs[:1]) == []
    assert matrix.changed([docs[0], sample_document()]) == []  # a level alone (see the fixture) is no change
    assert matrix.changed(docs[:2]) == ["RegisterUser.UserName.pattern", "UpdateUser.Role.enum"]


def test_every_rule_of_any_report_gets_a_row(docs):
    ids = matrix.rule_ids(docs)
    assert len(ids) == len(docs[0]["rules"]) == 17 and set(ids) == {r["id"] for r in docs[0]["rules"]}
    docs[2]["rules"].append({"id": "DeleteUser.only-here", "operation": "DeleteUser", "status": "passed"})
    assert matrix.rule_ids(docs)[-1] == "DeleteUser.only-here"  # an operation only one report has comes last
    assert matrix.changed(docs)[-1] == "DeleteUser.only-here"


def test_headings_tell_repeated_names_apart(docs):
    assert matrix.headings(docs, SOURCES) == HEADS
    same = [sample_document(), sample_document()]
    same[1]["started"] = "2026-11-24T08:00:00Z"
    assert matrix.headings(same, SOURCES[:2]) == ["moto (2026-11-23T07:00:00Z)", "moto (2026-11-24T08:00:00Z)"]
    twins = [sample_document(), sample_document()]
    assert matrix.headings(twins, ["a/compliance.json", "b"]) == ["moto (a/compliance.json)", "moto (b)"]
    assert matrix.headings(twins, ["a", "a"]) == ["moto (a) #1", "moto (a) #2"]


# -- Markdown --------------------------------------------------------------------------------------

def test_markdown_puts_the_scores_first_then_what_changed(docs):
    text = matrix.render_markdown(docs, SOURCES)
    assert text.startswith(f"# qsconform matrix: {' vs '.join(HEADS)}\n")
    assert text.index("## Score") < text.index("## What changed (4 rules)") < text.index("## All rules (17)")
    rows = [cells(line) for line in section(text, "What changed")]
    assert [r[0] for r in rows] == [f"`{r}`" for r in CHANGED]
    assert rows[0] == ["`RegisterUser.Tags.min_items`",
                       "skipped (MUST): needs configuration this run lacks (e.g. --iam-arn on a live target)",
                       "skipped (MUST): needs configuration this run lacks (e.g. --iam-arn on a live target)",
                       "not in this report"]
    assert rows[2] == ["`UpdateUser.Role.enum`", "passed (MUST)",
                       r"failed (MUST): accepted &lt;b&gt;role&lt;/b&gt; \| READERS", "passed (MUST)"]
    assert rows[3][1:] == ["advisory (SHOULD): no x-amzn-RequestId header in the answer"] * 2 + ["passed (SHOULD)"]


def test_markdown_scores_are_the_single_report_scores(docs):
    rows = [cells(line) for line in section(matrix.render_markdown(docs, SOURCES), "Score")]
    # Report, Score, RegisterUser, UpdateUser, then passed, failed, advisory...
    assert [r[:6] for r in rows] == [[HEADS[0], "**66.7 %**", "62.5 %", "75 %", "6", "4"],
                                     [HEADS[1], "**66.7 %**", "75 %", "50 %", "6", "4"],
                                     [HEADS[2], "**66.7 %**", "62.5 %", "75 %", "7", "4"]]


def test_markdown_full_table(docs):
    rows = [cells(line) for line in section(matrix.render_markdown(docs, SOURCES), "All rules")]
    assert len(rows) == 17 and all(len(r) == 4 for r in rows)
    by_id = {r[0]: r[1:] for r in rows}
    assert by_id["`RegisterUser.Email.max_length`"] == ["advisory (MUST, deviation SHOULD)"] * 3
    assert by_id["`RegisterUser.Email.required`"] == ["passed (MUST)", "passed (SHOULD)", "passed (MUST)"]
    assert by_id["`RegisterUser.Tags.min_items`"] == ["skipped (MUST)", "skipped (MUST)", "not in this report"]
    assert by_id["`RegisterUser.Tags[].Key.max_length`"] == ["deselected (MUST)"] * 3


def test_markdown_escapes_hostile_names_and_messages(docs):
    docs[2]["target"]["name"] = HOSTILE_NAME
    text = matrix.render_markdown(docs, SOURCES)
    assert "<img" not in text and "<script>" not in text and "\x07" not in text
    head = r"&lt;img src=x onerror=alert(1)&gt;\|emu\\x07"
    assert f"# qsconform matrix: {HEADS[0]} vs {HEADS[1]} vs {head}\n" in text
    for name in ("What changed", "Score", "All rules"):
        rows = [cells(line) for line in section(text, name)]
        assert {len(r) for r in rows} == {4 if name != "Score" else 13}, name  # no pipe broke a row
    (pattern,) = [cells(line) for line in section(text, "What changed") if "UserName.pattern" in line]
    assert pattern[1].startswith(r"failed (MUST): accepted with 200 &lt;script&gt;alert(1)&lt;/script&gt; \| pipe")


def test_one_report_is_allowed(docs):
    text = matrix.render_markdown(docs[:1], SOURCES[:1])
    assert "## What changed (0 rules)\n\nOne report: nothing to compare." in text
    assert len(section(text, "All rules")) == 17


def test_reports_of_different_specs_are_flagged(docs):
    assert "different specs" not in matrix.render_markdown(docs, SOURCES)
    docs[2]["versions"]["spec"] = "fedcba987654"
    assert "> The reports come from different specs (0123456789ab, fedcba987654)" in matrix.render_markdown(docs, SOURCES)


# -- HTML ------------------------------------------------------------------------------------------

@pytest.fixture
def page_text(docs):
    return matrix.render_html(docs, SOURCES)


def test_html_parses_and_fetches_nothing(page_text):
    page = Page(page_text)
    assert page.errors == []
    assert page.all("link") == page.all("img") == page.all("iframe") == page.all("base") == []
    for tag, attrs in page.elements:
        assert not [a for a in attrs if a.startswith("on")], f"event handler attribute on <{tag}>"
        assert "style" not in attrs, f"style attribute on <{tag}> (the policy would block it)"
        for name, value in attrs.items():
            if name in URL_ATTRIBUTES:  # in-page links, and links to each report's own page (never fetched)
                assert re.fullmatch(r"(reports/[\w.-]+/compliance\.html)?#rule-\S+", value or ""), \
                    f"<{tag} {name}={value!r}>: only links to a rule"
    assert "url(" not in "".join(page.raw["style"]) and "@import" not in "".join(page.raw["style"])


def test_html_policy_pins_its_own_style_and_script(page_text):
    page = Page(page_text)
    (meta,) = page.all("meta", **{"http-equiv": "Content-Security-Policy"})
    assert "default-src 'none'" in meta["content"] and "unsafe-inline" not in meta["content"]
    for kind, src in (("script", "script-src"), ("style", "style-src")):
        (body,) = page.raw[kind]
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{src} 'sha256-{digest}'" in meta["content"]


def test_html_the_scores_then_what_changed_lists_exactly_the_changed_rules(page_text):
    page = Page(page_text)
    assert [a["id"] for a in page.all("section")] == ["scores", "changed", "all"]
    assert [a["href"] for a in page.all("a") if a["href"].startswith("#")] == [f"#rule-{r}" for r in CHANGED]
    evidence = [a["href"] for a in page.classed("a", "evidence")]  # each cell: the rule in its own report
    assert "reports/moto-5.0/compliance.html#rule-UpdateUser.Role.enum" in evidence
    assert "reports/reference/compliance.html#rule-RegisterUser.Tags.min_items" not in evidence  # not in it
    assert len(evidence) == len(CHANGED) * 3 - 1 + 17 * 3 - 1
    rows = page.classed("tr", "rule")
    assert len(rows) == 17
    assert [a["id"] for a in rows if a["data-changed"] == "yes"] == [f"rule-{r}" for r in CHANGED]
    assert all(("changed" in a["class"].split()) == (a["data-changed"] == "yes") for a in rows)
    assert "rule-RegisterUser.Tags[].Key.max_length" in [a["id"] for a in rows]  # the rule id as it is
    text = " ".join(page.text)
    assert "4 rules whose status is not the same in every report" in text
    assert [a["data-status"] for a in page.all("td") if "data-status" in a][:3] == ["skipped", "skipped", "failed"]


def test_html_scores_and_headings(page_text):
    page = Page(page_text)
    text = " ".join(page.text)
    assert [t.strip() for t in page.text if t.strip() in HEADS][:3] == HEADS  # the table of reports, in order
    for score in ("66.7 %", "62.5 %", "75 %", "50 %"):
        assert score in text
    assert len(page.classed("div", "card")) == 3


def test_html_escapes_hostile_names_and_messages(docs):
    docs[2]["target"]["name"] = HOSTILE_NAME
    page_text = matrix.render_html(docs, SOURCES)
    page = Page(page_text)
    assert page.errors == [] and page.all("img") == []
    assert "<img" not in page_text and "<script>alert" not in page_text and "<b>role" not in page_text
    text = "".join(page.text)
    assert "<img src=x onerror=alert(1)>|emu\\x07" in text  # what a reader sees, verbatim
    assert "accepted <b>role</b> | READERS" in text
    assert "accepted with 200 <script>alert(1)</script> | pipe" in text
    titles = [a["title"] for a in page.all("td") if a.get("title")]
    assert any(t.startswith("accepted with 200 <script>alert(1)</script>") for t in titles)


# -- the command -----------------------------------------------------------------------------------

@pytest.fixture
def report_files(tmp_path, docs):
    paths = []
    for name, doc in zip(("new", "old", "reference"), docs):
        (tmp_path / name).mkdir()
        (tmp_path / name / "compliance.json").write_text(json.dumps(doc), encoding="utf-8")
        paths.append(tmp_path / name)
    return [str(paths[0] / "compliance.json"), str(paths[1]), str(paths[2])]  # a file, or its directory


def test_command_writes_both_and_prints_their_paths_last(tmp_path, report_files, capsys):
    out = tmp_path / "out" / "matrix"
    assert cli.main(["matrix", *report_files, "--output", str(out)]) == exits.OK
    printed = capsys.readouterr()
    assert printed.err == ""
    assert printed.out.splitlines()[-2:] == [str(out / "matrix.html"), str(out / "matrix.md")]
    assert "4 rule(s) whose status differs" in printed.out
    md = (out / "matrix.md").read_text(encoding="utf-8")
    assert [cells(line)[0] for line in section(md, "What changed")] == [f"`{r}`" for r in CHANGED]
    assert markdown.text(report_files[1]) in md  # the file each column came from
    assert Page((out / "matrix.html").read_text(encoding="utf-8")).errors == []
    assert sorted(p.name for p in out.iterdir()) == ["matrix.html", "matrix.md"]  # no temporary file left


@pytest.mark.parametrize("content, says", [
    (None, "cannot read {path}: No such file or directory"),
    ("{not json", "cannot read {path}: Expecting property name"),
    (b"\xff\xfe\x00", "cannot read {path}: 'utf-8' codec can't decode"),
    ("[1, 2]", "{path} is not a compliance.json: no target object and rules list"),
    ('{"rules": [], "summary": {}}', "{path} is not a compliance.json: no target object and rules list"),
    ('{"target": {}, "rules": [{"status": "passed"}]}', "{path} is not a compliance.json: a rule without"),
    ('{"target": {}, "rules": [{"id": "x", "operation": ["A"]}]}', "{path} is not a compliance.json: a rule without"),
    ('{"target": {}, "rules": [], "versions": "5.2"}', "{path} is not a compliance.json: its versions is not an object"),
    ('{"target": {}, "rules": [], "summary": {"operations": 2}}', "{path} is not a compliance.json: its summary's"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, report_files, capsys, content, says):
    path = tmp_path / "given.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    code = cli.main(["matrix", report_files[0], str(path), "--output", str(tmp_path / "out")])
    printed = capsys.readouterr()
    assert code == exits.USAGE
    assert printed.out == ""
    assert printed.err.count("\n") == 1 and printed.err.startswith("qsconform: " + says.format(path=path)), printed.err
    assert not (tmp_path / "out").exists()


def test_an_unwritable_output_is_one_line_and_exit_2(tmp_path, report_files, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli.main(["matrix", *report_files, "--output", str(blocker)]) == exits.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"qsconform: cannot write to {blocker}: "), err


def test_no_report_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["matrix", "--output", str(tmp_path)])
    assert stop.value.code == exits.USAGE
    assert "the following arguments are required: reports" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        cli.main(["matrix", "--help"])
    assert stop.value.code == 0 and "at least one" in capsys.readouterr().out


# -- a real browser --------------------------------------------------------------------------------

@pytest.mark.browser
def test_renders_in_headless_chromium(tmp_path, docs):
    docs[2]["target"]["name"] = HOSTILE_NAME
    path = tmp_path / "matrix.html"
    path.write_text(matrix.render_html(docs, SOURCES), encoding="utf-8")
    dumped = browse(tmp_path, "--dump-dom", path.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    assert 'data-js="ready"' in dom  # the page's script ran to its end under its own CSP
    assert "17 of 17 rules shown" in dom  # ... and counted the rows of the full table
    assert dom.index('id="scores"') < dom.index('id="changed"') < dom.index('id="all"')  # the scores first
    changed = dom[dom.index('id="changed"'):dom.index('id="all"')].replace("<wbr>", "")
    assert re.findall(r'<a href="#rule-([^"]+)">', changed) == CHANGED
    assert "66.7 %" in dom and "50 %" in dom
    assert dom.count("<script") == 1 and "<img" not in dom  # the hostile name stayed text
    assert "&lt;img src=x onerror=alert(1)&gt;|emu\\x07" in dom

    shot = tmp_path / "shot.png"
    drawn = browse(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", path.as_uri())
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1200, 1600)
    assert len(png) > 20_000  # a drawn page, not a blank one
