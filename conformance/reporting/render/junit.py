"""junit.xml: the run in the JUnit XML format CI systems read (GitLab, Jenkins, GitHub test reporters).

testsuites > one testsuite per operation > one testcase per rule (classname = operation, name = rule
id). A failed rule gets <failure> with its evidence as text. An advisory rule passes, with
"advisory: <message>" and its evidence in <system-out> (test reporters show it beside the case);
in a strict run it fails like a failed rule. A rule not judged (inconclusive, unsupported, skipped,
unsent, not-run, deselected) gets <skipped message="status: why">. A partial run (interrupted, or stopped early
by -x or --maxfail) has one more testsuite, "qsconform", whose one testcase "run" is an <error> saying so
("interrupted: 40 of 111 rules judged"): a CI reading the file never takes a partial run for a pass. Built
with ElementTree, which escapes markup; characters XML 1.0 cannot carry at all (control characters) are
spelled out first.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Mapping

from qsconform.conformance.reporting.render import common


def _text(value: Any) -> str:
    return common.visible(value)


def _seconds(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "0.000"


def _timestamp(started: Any) -> str:
    """The start time as the JUnit schema wants it: ISO 8601 without a zone (it is UTC)."""
    return _text(started or "").removesuffix("Z")


def _properties(doc: Mapping) -> ET.Element:
    target = doc.get("target") or {}
    props = ET.Element("properties")
    pairs = [("target", target.get("name")), ("endpoint", target.get("endpoint")), ("region", target.get("region")),
             ("namespace", target.get("namespace")), ("seed", doc.get("seed")), ("profile", doc.get("profile")),
             ("strict", str(common.strict(doc)).lower()),
             ("interrupted", str(bool(doc.get("interrupted"))).lower()),
             ("stopped_early", str(bool(doc.get("stopped_early"))).lower())]
    pairs += [(f"version.{k}", v) for k, v in (doc.get("versions") or {}).items()]
    for name, value in pairs:
        if value is not None:
            ET.SubElement(props, "property", name=_text(name), value=_text(value))
    return props


def _fails(doc: Mapping, rule: Mapping) -> bool:
    """Whether this rule's case is a failure: a failed rule, or an advisory one in a strict run."""
    status = common.status_of(rule)
    return status == "failed" or (status == "advisory" and common.strict(doc))


def _testcase(doc: Mapping, rule: Mapping) -> ET.Element:
    case = ET.Element("testcase", classname=_text(rule.get("operation") or "?"), name=_text(rule.get("id")),
                      time=_seconds(rule.get("seconds")))
    status = common.status_of(rule)
    message = common.one_line(rule.get("message"))
    if _fails(doc, rule):
        said = rule.get("message") if status == "failed" else f"advisory (--strict): {rule.get('message') or ''}"
        failure = ET.SubElement(case, "failure", message=_text(said),
                                type=_text(f"{common.level_text(rule)} {rule.get('category')}"))
        failure.text = common.evidence_text(doc, rule)
    elif status == "advisory":
        ET.SubElement(case, "system-out").text = f"advisory: {message}\n\n{common.evidence_text(doc, rule)}"
    elif status != "passed":
        why = message or (common.meaning(status) if status in common.MEANINGS else "")
        ET.SubElement(case, "skipped", message=_text(f"{status}: {why}" if why else status))
    return case


def render_junit(doc: Mapping) -> str:
    """junit.xml for `doc`, as a string with an XML declaration (write it as UTF-8)."""
    root = ET.Element("testsuites", name="qsconform")
    totals = {"tests": 0, "failures": 0, "skipped": 0, "time": 0.0}
    by_operation: dict[str, list[dict]] = {op: [] for op in common.operations(doc)}
    for rule in common.rules(doc):
        by_operation[rule.get("operation") or "?"].append(rule)
    for operation, rules in by_operation.items():
        failures = sum(_fails(doc, r) for r in rules)
        skipped = sum(common.status_of(r) not in common.JUDGED for r in rules)
        seconds = sum(r.get("seconds") or 0 for r in rules)
        suite = ET.SubElement(root, "testsuite", name=_text(operation), tests=str(len(rules)), failures=str(failures),
                              errors="0", skipped=str(skipped), time=_seconds(seconds),
                              timestamp=_timestamp(doc.get("started")))
        suite.append(_properties(doc))
        for rule in rules:
            suite.append(_testcase(doc, rule))
        totals["tests"] += len(rules)
        totals["failures"] += failures
        totals["skipped"] += skipped
        totals["time"] += seconds
    errors = 0
    partial = common.partial(doc)
    if partial:
        suite = ET.SubElement(root, "testsuite", name="qsconform", tests="1", failures="0", errors="1", skipped="0",
                              time=_seconds(doc.get("seconds")), timestamp=_timestamp(doc.get("started")))
        suite.append(_properties(doc))
        case = ET.SubElement(suite, "testcase", classname="qsconform", name="run", time=_seconds(doc.get("seconds")))
        error = ET.SubElement(case, "error", message=_text(partial),
                              type="interrupted" if doc.get("interrupted") else "stopped-early")
        error.text = _text(common.run_verdict(doc))
        totals["tests"] += 1
        errors = 1
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", str(errors))
    root.set("skipped", str(totals["skipped"]))
    root.set("time", _seconds(totals["time"]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
