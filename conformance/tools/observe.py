"""`qsconform observe`: read probe (or run) cassettes into an observations file (spec/observations.schema.json).

Per rule broken by a request: the answers of every exchange labelled with it (a setup step, another
operation, is not the rule's), how many agree, which members the answers carry. Answers that differ
(across exchanges or cassettes) settle nothing: the rule is listed as unsettled with each answer. A
server error (5xx) is no answer the API chose, so it is counted out; a rule that got only those is unsettled.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

from qsconform.conformance.cassette.load import load_cassette
from qsconform.spec.model import Spec
from qsconform.spec.observations import FORMAT

ENVELOPE = frozenset({"RequestId", "Status"})  # members of every answer, which say nothing about the rule


def observe(paths: list[Path], spec: Spec) -> dict:
    """The observations document of the cassettes at `paths` (CassetteError for one that cannot be read)."""
    cassettes: list[dict] = []
    answers: dict[str, Counter[tuple[int, str | None]]] = {}  # per rule: (status, error type) -> exchanges
    members: dict[str, frozenset[str]] = {}
    digests: dict[str, list[str]] = {}
    server_errors: Counter[str] = Counter()
    for path in paths:
        path = Path(path)
        cassette = load_cassette(path)
        digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        cassettes.append({"digest": digest, "file": path.name, "recorded_from": cassette.source,
                          "region": cassette.region, "recorded_at": cassette.recorded_at})
        for interaction in cassette.interactions:
            rule_id = interaction.get("rule_id")
            if not rule_id or rule_id.split(".", 1)[0] != interaction["operation"] or not _is_input(spec, rule_id):
                continue
            response = interaction["response"]
            if response["status"] >= 500:
                server_errors[rule_id] += 1
                continue
            accepted = 200 <= response["status"] < 300
            answer = (response["status"], None if accepted else response.get("error_type"))
            answers.setdefault(rule_id, Counter())[answer] += 1
            digests.setdefault(rule_id, []).append(digest)
            seen = _members(interaction)
            members[rule_id] = seen if rule_id not in members else members[rule_id] & seen
    observations, unsettled = [], []
    for rule_id in sorted(set(answers) | set(server_errors)):
        counted = answers.get(rule_id, Counter())
        listed = [{"status": s, "error_type": t, "exchanges": n} for (s, t), n in sorted(counted.items(), key=str)]
        if len(counted) == 1:
            (status, error_type), n = next(iter(counted.items()))
            observations.append({"rule_id": rule_id, "answer": {"status": status, "error_type": error_type},
                                 "exchanges": n, "cassettes": sorted(set(digests[rule_id])),
                                 "members": sorted(members[rule_id])})
        elif counted:
            unsettled.append({"rule_id": rule_id, "answers": listed, "why": "the answers disagree"})
        else:
            unsettled.append({"rule_id": rule_id, "answers": [],
                              "why": f"only server errors ({server_errors[rule_id]} answers of 5xx)"})
    return {"format": FORMAT, "cassettes": cassettes, "observations": observations, "unsettled": unsettled}


def _is_input(spec: Spec, rule_id: str) -> bool:
    try:
        return spec.rule(rule_id).is_input
    except KeyError:
        return False


def _members(interaction: dict) -> frozenset[str]:
    """The members an answer carries (User's as User.X), marking those that show what was sent as "(as sent)"."""
    body = interaction["response"].get("body")
    if not isinstance(body, dict):
        return frozenset()
    request_body = interaction.get("body")
    sent = request_body if isinstance(request_body, dict) else {}
    out = {k for k in body if k not in ENVELOPE and k != "User"}
    user = body.get("User")
    if isinstance(user, dict):
        out |= {f"User.{k}" + (" (as sent)" if k in sent and sent[k] == v else "") for k, v in user.items()}
    return frozenset(out)


def summary(document: dict) -> list[str]:
    """The observations as the console shows them: one line per rule."""
    width = max((len(o["rule_id"]) for o in document["observations"] + document["unsettled"]), default=0)
    lines = []
    for o in document["observations"]:
        a = o["answer"]
        answer = f"accepted ({a['status']})" if a["error_type"] is None and a["status"] < 300 else f"{a['status']} {a['error_type']}"
        lines.append(f"  {o['rule_id']:<{width}}  {answer}  x{o['exchanges']}")
    for u in document["unsettled"]:
        lines.append(f"  {u['rule_id']:<{width}}  unsettled: {u['why']}")
    return lines
