"""Checks what the spec's rules cite against the sources themselves.

A rule's `evidence` (spec/sources/README.md) names a sentence of a doc page, a path in the AWS
service model, or an item of the observations. `problems()` finds each one in the copies the
project carries (spec/sources) and in the installed botocore's model, and says what is not there;
and, for what holds at OBSERVED, whether the items cited are about its operation and its kind of
request (spec/sources/observation-tags.json): an answer seen to RegisterUser proves nothing of
UpdateUser, an answer to members that do not go together nothing of a member breaking its own constraint.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from qsconform.spec.model import MISSING, CrossRule, InputRule, LifecycleRule, ResponseRule, Rule, Spec, dig
from qsconform.spec.service import service_model

OBSERVATIONS = "observed-aws-behaviour.md"
TAGS = "observation-tags.json"
# The kinds of request an observation item can speak about (observation-tags.json).
REQUEST_KINDS = ("success", "member-violation", "cross-field", "existence", "lifecycle", "error")
_ITEM = re.compile(r"^(\d+)\. ", re.M)


def squeezed(text: str) -> str:
    """Text without whitespace: the pages' copies broke lines (and lost spaces) where the HTML had tags."""
    return re.sub(r"\s+", "", text)


@dataclass(frozen=True)
class Cited:
    """One piece of evidence and who cites it."""

    where: str  # a rule id, "RegisterUser response/echo/2", "errors/AccessDeniedException"
    level: str
    evidence: dict
    # What the citing thing judges: (operation, kind of request) pairs (REQUEST_KINDS); an outcome class
    # judges the requests of every rule answered by it.
    about: tuple[tuple[str, str], ...] = ()


def request_kind(rule: Rule) -> str:
    """The kind of request a rule judges (REQUEST_KINDS; "protocol" for a body that is no JSON object)."""
    if rule.kind == "member":
        return "member-violation"
    if isinstance(rule, CrossRule):
        names_a_resource = any(isinstance(v, str) and v.startswith("$config.")
                               for cond in rule.then.get("members", {}).values() for v in cond.get("in", ()))
        return "existence" if names_a_resource else "cross-field"
    if isinstance(rule, ResponseRule):
        return {"valid": "success", "success": "success", "error": "error"}.get(rule.scope, "any")
    return rule.kind  # lifecycle, protocol


def citations(spec: Spec) -> Iterator[Cited]:
    """Every piece of evidence the spec gives, rules first."""
    for rule in spec.rules:
        for e in rule.evidence:
            yield Cited(rule.id, rule.level, e, ((rule.operation, request_kind(rule)),))
    for op in spec.operations.values():
        for i, (echo, evidence) in enumerate(op.echo_evidence()):
            for e in evidence:
                yield Cited(f"{op.name} response/echo/{i}", echo.level, e, ((op.name, "success"),))
    for where, level, evidence in spec.catalog_evidence():
        part, name = where.split("/", 1)
        about = tuple(dict.fromkeys((r.operation, request_kind(r)) for r in spec.rules
                                     if isinstance(r, (InputRule, LifecycleRule)) and r.outcome == name)) \
            if part == "outcomes" else ()
        for e in evidence:
            yield Cited(where, level, e, about)


def observation_tags(directory: Path) -> dict[int, dict]:
    """Item number -> {"operations": [...], "requests": [...]} (spec/sources/observation-tags.json)."""
    document = json.loads((directory / "sources" / TAGS).read_text(encoding="utf-8"))
    return {int(number): tags for number, tags in document["items"].items()}


def _fits(tags: dict, operation: str, kind: str) -> bool:
    return (operation in tags["operations"] or "*" in tags["operations"]) and kind in tags["requests"]


def misfiled(spec: Spec) -> list[str]:
    """What holds at OBSERVED on an observation item about another operation or another kind of request.

    A rule (or an echoed member) at OBSERVED: every item it cites must be about its operation and its kind
    of request. An outcome class at OBSERVED, whose answers judge several rules: every item it cites must
    be about one of them, and every one of them must have an item of its own among those cited."""
    tags = observation_tags(spec.directory)
    items = observation_items(spec.directory)
    out = [f"observation #{n} has no tags in spec/sources/{TAGS}" for n in sorted(set(items) - set(tags))]
    out += [f"spec/sources/{TAGS} tags #{n}, which is no item" for n in sorted(set(tags) - set(items))]
    out += [f"spec/sources/{TAGS}: #{n} tags an unknown kind of request {k!r}"
            for n, t in sorted(tags.items()) for k in t["requests"] if k not in REQUEST_KINDS]
    cited_by: dict[str, list[Cited]] = {}
    # A rule an observations file settled rests on its recording; the items it cited suggested the inference.
    recorded = {c.where for c in citations(spec) if "recording" in c.evidence}
    for cited in citations(spec):
        if cited.level == "OBSERVED" and "observation" in cited.evidence and cited.evidence["observation"] in tags \
                and cited.where not in recorded:
            cited_by.setdefault(cited.where, []).append(cited)
    for where, cites in cited_by.items():
        about = cites[0].about
        shown = lambda c: f"#{c.evidence['observation']} ({_tags_shown(tags[c.evidence['observation']])})"  # noqa: E731
        if where.startswith("outcomes/"):
            for c in cites:
                if not any(_fits(tags[c.evidence["observation"]], op, kind) for op, kind in about):
                    out.append(f"{where} (OBSERVED) cites {shown(c)}, about none of the requests it judges: "
                               f"{_about_shown(about)}")
            for op, kind in about:
                if not any(_fits(tags[c.evidence["observation"]], op, kind) for c in cites):
                    out.append(f"{where} (OBSERVED) judges {kind} requests of {op}, and cites no item about them")
            continue
        for c in cites:
            if not all(_fits(tags[c.evidence["observation"]], op, kind) for op, kind in about):
                out.append(f"{where} (OBSERVED) judges {_about_shown(about)} and cites {shown(c)}")
    return out


def _tags_shown(tags: dict) -> str:
    operations = ", ".join(tags["operations"]) or "no operation named"
    return f"{'/'.join(tags['requests'])} of {operations}"


def _about_shown(about) -> str:
    return "; ".join(f"{kind} requests of {op}" for op, kind in about)


def observation_items(directory: Path) -> dict[int, str]:
    """The numbered items of the observations file: number -> text (up to the next item or heading)."""
    text = (directory / "sources" / OBSERVATIONS).read_text(encoding="utf-8")
    starts = list(_ITEM.finditer(text))
    items = {}
    for match, following in zip(starts, starts[1:] + [None]):
        end = following.start() if following else len(text)
        body = text[match.end():end]
        items[int(match.group(1))] = body.split("\n#", 1)[0]
    return items


def _plain(value: Any) -> str:
    """Model documentation as text: tags removed, entities read."""
    return html.unescape(re.sub(r"<[^>]+>", " ", value if isinstance(value, str) else ""))


def problem(cited: Cited, directory: Path, items: dict[int, str], recorded: frozenset = frozenset()) -> str | None:
    """Why a piece of evidence is not found where it points, or None. `recorded`: the (observations file,
    rule id) pairs of the observations the spec applied."""
    e = cited.evidence
    if "recording" in e:
        if (e["recording"], e["rule"]) not in recorded:
            return f"{cited.where}: no observations file {e['recording']} loaded with an observation of {e['rule']}"
        return None
    if "page" in e:
        page = directory / "sources" / f"{e['page']}.txt"
        if not page.is_file():
            return f"{cited.where}: no page {page.name} in spec/sources"
        if squeezed(e["quote"]) not in squeezed(page.read_text(encoding="utf-8")):
            return f"{cited.where}: the {e['page']} page does not say {e['quote']!r}"
        return None
    if "observation" in e:
        item = items.get(e["observation"])
        if item is None:
            return f"{cited.where}: there is no observation #{e['observation']}"
        if "quote" in e and squeezed(e["quote"]) not in squeezed(item):
            return f"{cited.where}: observation #{e['observation']} does not say {e['quote']!r}"
        return None
    value = dig(service_model(), e["model"], separator="/")
    if value is MISSING:
        return f"{cited.where}: the model has no {e['model']}"
    if "equals" in e and value != e["equals"]:
        return f"{cited.where}: the model's {e['model']} is {value!r}, not {e['equals']!r}"
    if "contains" in e and (not isinstance(value, list) or e["contains"] not in value):
        return f"{cited.where}: the model's {e['model']} does not hold {e['contains']!r}"
    if "quote" in e and squeezed(e["quote"]) not in squeezed(_plain(value)):
        return f"{cited.where}: the model's {e['model']} does not say {e['quote']!r}"
    return None


def problems(spec: Spec) -> list[str]:
    """Every citation of the spec that is not found in its source."""
    items = observation_items(spec.directory)
    recorded = frozenset((e.file, e.rule_id) for e in spec.observations if e.kind == "applies")
    out = []
    for cited in citations(spec):
        why = problem(cited, spec.directory, items, recorded)
        if why is not None:
            out.append(why)
    return out + misfiled(spec)
