"""Checks what the spec's rules cite against the sources themselves.

A rule's `evidence` (spec/sources/README.md) names a sentence of a doc page, a path in the AWS
service model, or an item of the observations. `problems()` finds each one in the copies the
project carries (spec/sources) and in the installed botocore's model, and says what is not there.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import botocore.session

from qsconform.spec.model import Spec

OBSERVATIONS = "observed-aws-behaviour.md"
_ITEM = re.compile(r"^(\d+)\. ", re.M)


def squeezed(text: str) -> str:
    """Text without whitespace: the pages' copies broke lines (and lost spaces) where the HTML had tags."""
    return re.sub(r"\s+", "", text)


@lru_cache(maxsize=None)
def service_model() -> dict:
    return botocore.session.get_session().get_component("data_loader").load_service_model("quicksight", "service-2")


@dataclass(frozen=True)
class Cited:
    """One piece of evidence and who cites it."""

    where: str  # a rule id, "RegisterUser response/echo/2", "errors/AccessDeniedException"
    level: str
    evidence: dict


def citations(spec: Spec) -> Iterator[Cited]:
    """Every piece of evidence the spec gives, rules first."""
    for rule in spec.rules:
        for e in rule.evidence:
            yield Cited(rule.id, rule.level, e)
    for op in spec.operations.values():
        for i, (echo, evidence) in enumerate(op.echo_evidence()):
            for e in evidence:
                yield Cited(f"{op.name} response/echo/{i}", echo.level, e)
    for where, level, evidence in spec.catalog_evidence():
        for e in evidence:
            yield Cited(where, level, e)


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


def _model_at(path: str) -> Any:
    node: Any = service_model()
    for part in path.split("/"):
        if not isinstance(node, dict) or part not in node:
            return _missing
        node = node[part]
    return node


_missing = object()


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
    value = _model_at(e["model"])
    if value is _missing:
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
    return out
