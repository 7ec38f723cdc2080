"""Valid boundary examples packed into few requests, for a target where every accepted request costs (a
registration on a live account, a user somebody may pay for).

Each valid boundary example departs from the simplest valid request in a member or a few (a long e-mail
address, a user name of Latin-1 letters, fifty tags). Departures in different members can ride on one
request: the packed request holds them all, and the oracle must still find it valid at the level of each
example it holds (one valid by inference only never weakens one valid under every reading).

An example opens a request of its own when it departs in an `opening` member with a value no packed request
holds yet (an identity class, a user name, a role); any other joins the first packed request it fits. One
that fits none is left out. `apart` names members whose departures never share a request (a user name and a
role: the users with the names a run updates keep the role it updates them with).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from qsconform.spec.request import Request
from qsconform.strategies.context import OpContext
from qsconform.strategies.pick import SimplestPicker
from qsconform.strategies.valid import build_params, success, to_request

_ABSENT = object()


@dataclass(frozen=True)
class Packed:
    """One request holding the departures of `examples`; `opened_by` the opening member that gave it its own
    request ("" for the simplest request's), with the value it opened with."""

    request: Request
    examples: tuple[Request, ...]
    opened_by: str = ""
    opened_with: Any = None


@dataclass
class _Bin:
    params: dict
    level: str
    opened_by: str
    opened_with: Any
    departed: dict = field(default_factory=dict)  # member -> value (_ABSENT: left out)
    examples: list = field(default_factory=list)


def departures(base: dict, params: dict) -> dict:
    """The top-level members whose value differs from the simplest request's (_ABSENT: left out)."""
    out = {}
    for name in dict.fromkeys([*base, *params]):
        value = params.get(name, _ABSENT)
        if value != base.get(name, _ABSENT):
            out[name] = value
    return out


def pack(ctx: OpContext, examples: Iterable[Request], opening: frozenset[str] = frozenset(),
         apart: Iterable[frozenset[str]] = (), names: str | None = None) -> tuple[list[Packed], list[Request]]:
    """The packed requests (the simplest request's first, then in the order their first example came) and the
    examples left out. Only valid examples are packed (others are left out); one sent twice, in both JSON
    encodings, is packed once: the packed requests alternate the encodings (escapes first, then raw UTF-8).

    `names`: the member naming the user a request creates. Each packed request then names a user of its own:
    one with the simplest name (the one every request that departs nowhere else gives, invalid ones too) is given
    that name with "planned-<n>" after it."""
    base = build_params(ctx, SimplestPicker())
    examples = list(examples)
    if base is None or not ctx.classify(base).valid:
        return [], examples
    apart = [frozenset(group) for group in apart]
    bins: list[_Bin] = []
    left_out: list[Request] = []
    seen: set = set()
    for example in sorted(examples, key=lambda e: not (departures(base, e.params()).keys() & opening)):
        if not example.expected.is_success or example.raw_body is not None:
            left_out.append(example)
            continue
        params = example.params()
        key = repr(sorted(params.items(), key=lambda kv: kv[0]))
        if key in seen:
            left_out.append(example)
            continue
        seen.add(key)
        diff = departures(base, params)
        level = example.expected.level
        opens = next(((name, value) for name, value in diff.items() if name in opening
                      and not any(b.departed.get(name, _ABSENT) == value for b in bins)), None)
        if not diff and not any(not b.departed for b in bins):
            opens = ("", None)
        if opens is not None:
            bins.append(_Bin(dict(params), level, opens[0], opens[1], dict(diff), [example]))
            continue
        for b in bins:
            merged = _merged(ctx, b, diff, level, apart)
            if merged is not None:
                b.params, b.departed = merged, {**b.departed, **diff}
                b.examples.append(example)
                break
        else:
            left_out.append(example)
    simplest_name = _simplest(ctx, names)
    packed = []
    for i, b in enumerate(sorted(bins, key=lambda b: b.opened_by != "")):
        if isinstance(simplest_name, str) and b.params.get(names) == simplest_name:
            renamed = {**b.params, names: f"{simplest_name}planned-{i}"}
            if ctx.classify(renamed).valid:
                b.params = renamed
        notes = tuple(note for e in b.examples for note in e.notes)
        request = to_request(ctx, b.params, success(b.level), ascii_json=i % 2 == 0)
        packed.append(Packed(replace(request, notes=notes), tuple(b.examples), b.opened_by, b.opened_with))
    return packed, left_out


def _simplest(ctx: OpContext, name: str | None) -> Any:
    """The simplest value a member takes in a request (None when it has none)."""
    space = ctx.valid_space(name) if name in ctx.op.members else None
    return space.simplest() if space is not None else None


def _merged(ctx: OpContext, b: _Bin, diff: dict, level: str, apart: list[frozenset[str]]) -> dict | None:
    """The bin's request with these departures too, or None when they do not fit in it."""
    if level != b.level:
        return None
    for name, value in diff.items():
        if name in b.departed and b.departed[name] != value:
            return None
    touched = set(b.departed) | set(diff)
    if any(len(group & touched) > 1 for group in apart):
        return None
    params = dict(b.params)
    for name, value in diff.items():
        if value is _ABSENT:
            params.pop(name, None)
        else:
            params[name] = value
    verdict = ctx.classify(params)
    return params if verdict.valid and verdict.level == level else None
