"""junit.xml: one testcase per rule, failures with evidence, advisories passing with theirs (failing when
strict), skips with their status, valid XML whatever a target answers."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from qsconform.conformance.reporting.render.junit import render_junit
from qsconform.conformance.reporting.render.sample import sample_document


def parse(doc) -> ET.Element:
    text = render_junit(doc)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text.encode("utf-8"))


def test_counts():
    root = parse(sample_document())
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped"), root.get("errors")) == ("17", "4", "5", "0")
    assert len(root.findall("./testsuite/testcase")) == 17
    assert len(root.findall(".//failure")) == 4
    assert len(root.findall(".//skipped")) == 5  # inconclusive, unsupported, skipped, unsent, deselected
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["RegisterUser", "UpdateUser"]
    register, update = suites["RegisterUser"], suites["UpdateUser"]
    assert (register.get("tests"), register.get("failures"), register.get("skipped")) == ("13", "3", "5")
    assert (update.get("tests"), update.get("failures"), update.get("skipped")) == ("4", "1", "0")
    assert register.get("time") == "1.500" and register.get("timestamp") == "2026-11-23T07:00:00"
    props = {p.get("name"): p.get("value") for p in register.findall("properties/property")}
    assert props["seed"] == "123" and props["target"] == "moto" and props["version.spec"] == "0123456789ab"
    assert props["strict"] == "false"


def test_testcase_names_and_times():
    root = parse(sample_document())
    cases = {c.get("name"): c for c in root.iter("testcase")}
    case = cases["UpdateUser.lifecycle.missing-user-not-found"]
    assert case.get("classname") == "UpdateUser" and case.get("time") == "0.100"
    assert list(cases["UpdateUser.Role.enum"]) == []  # passed: no child
    assert cases["RegisterUser.Tags[].Key.max_length"].find("skipped").get("message") == \
        "deselected: left out of this run (-k, --shard, --rule)"  # no message of its own: what the status means
    assert cases["RegisterUser.role-arn-needs-sessionname"].find("skipped").get("message") == \
        "unsent: not sent: what the real API does with a role ARN and no SessionName has not been seen"
    assert cases["RegisterUser.lifecycle.duplicate-refused"].find("skipped").get("message") == \
        "inconclusive: inconclusive: still throttled after retries"
    assert cases["RegisterUser.error.error_body"].find("skipped").get("message") == \
        "unsupported: the target does not offer RegisterUser"


def test_an_advisory_passes_with_its_evidence_in_system_out():
    root = parse(sample_document())
    case = next(c for c in root.iter("testcase") if c.get("name") == "RegisterUser.Email.max_length")
    assert [child.tag for child in case] == ["system-out"]  # neither failed nor skipped
    out = case.find("system-out").text
    assert out.startswith("advisory: answered 400 ValidationException; the inferred error type is "
                          "InvalidParameterValueException <i>|")
    assert "RegisterUser.Email.max_length [MUST, deviation SHOULD] constraint" in out
    assert "1 of 9 examples deviated" in out and '"__type": "ValidationException"' in out
    assert "qsconform run --target moto --profile quick --seed 123" in out


def test_a_strict_run_fails_its_advisories():
    doc = sample_document()
    doc["strict"] = True
    root = parse(doc)
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("17", "6", "5")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert suites["UpdateUser"].get("failures") == "2"
    case = next(c for c in root.iter("testcase") if c.get("name") == "UpdateUser.response.request-id-header")
    failure = case.find("failure")
    assert failure.get("message") == "advisory (--strict): no x-amzn-RequestId header in the answer"
    assert failure.get("type") == "SHOULD response"
    assert "7 of 7 examples deviated" in failure.text and case.find("system-out") is None


def test_a_document_written_before_advisories_renders():
    doc = sample_document()
    del doc["strict"]
    rule = next(r for r in doc["rules"] if r["id"] == "RegisterUser.Tags[].Key.max_length")
    rule["status"] = "quarantined"  # a status this version does not know (a newer writer's)
    case = next(c for c in parse(doc).iter("testcase") if c.get("name") == rule["id"])
    assert case.find("skipped").get("message") == "quarantined"


def test_hostile_content_survives_as_text():
    root = parse(sample_document())
    case = next(c for c in root.iter("testcase") if c.get("name") == "RegisterUser.UserName.pattern")
    failure = case.find("failure")
    message = failure.get("message")
    assert message.startswith("accepted with 200 <script>alert(1)</script> | pipe\nnew line \\x07 bell é")
    assert failure.get("type") == "MUST constraint"
    evidence = failure.text
    assert '{"User": {"UserName": "<script>alert(1)</script>"' in evidence
    assert "\n```\n</details>\n| a | b |" in evidence
    assert '"UserName": "é|<x>"' in evidence
    assert "curl --include" in evidence
    assert "qsconform run --target moto --profile quick --seed 123" in evidence
    assert "source: RegisterUser.txt" in evidence and "2 of 8 examples failed" in evidence


def test_every_character_xml_forbids_is_spelled_out():
    doc = sample_document()
    forbidden = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r") + "\ud800\ufffe\uffff"
    rule = doc["rules"][0]
    rule["message"] = f"bad {forbidden} end"
    rule["example"]["response"]["body"] = forbidden
    rule["example"]["response"]["headers"]["X-" + "\x01"] = "\x02"
    root = parse(doc)  # raises if any of them got through
    failure = next(c for c in root.iter("testcase") if c.get("name") == rule["id"]).find("failure")
    assert failure.get("message").startswith("bad \\x00\\x01\\x02")
    assert failure.get("message").endswith("\\x1f\\ud800\\ufffe\\uffff end")
    assert "X-\\x01: \\x02" in failure.text
