"""repro.sh: the stand-alone reproduction of every failed and advisory rule of a run, as a POSIX shell script.

    QSC_TARGET=http://127.0.0.1:5055 sh repro.sh RULE_ID     (without RULE_ID: the rules it knows)

Each rule's case sends its steps (common.steps_of: setup, the requests a lifecycle program sent before, the
judged request, cleanup) to $QSC_TARGET with curl, which signs them itself (--aws-sigv4) from
$AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY: no credential is written out. Everything from the document is
shell-quoted (a rule id, a path or a body a target chose cannot break out of its word); a body that is not
text is carried in base64.
"""
from __future__ import annotations

import base64
import re
import shlex
from typing import Mapping

from qsconform.conformance.reporting.render import common

SERVICE = "quicksight"


def _header(doc: Mapping, rules: list[dict]) -> list[str]:
    target = doc.get("target") or {}
    start = common.start_command(doc)
    url = common.repro_target(doc)
    lines = ["#!/bin/sh",
             f"# qsconform: stand-alone reproductions of {common.plural(len(rules), 'rule')} of the run against "
             f"{common.one_line(target.get('name'))} (seed {common.one_line(doc.get('seed'))}).",
             "# Each sends its whole sequence to $QSC_TARGET: setup, the judged request, then cleanup.",
             "#",
             f"#   QSC_TARGET={url} sh repro.sh RULE_ID        (sh repro.sh alone lists the rules)",
             "#"]
    if start:
        lines += ["# The run started its own target: start the same one on a fixed port first,",
                  f"#   {common.one_line(start)}"]
    lines += ["# or replay it with qsconform, which also judges the answer again:",
              f"#   qsconform repro RULE_ID --report DIR --target {url}",
              "# curl (7.75 or newer) signs each request from $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY"
              + ("." if target.get("live") else " (any value for an emulator)."),
              "set -u",
              f"QSC_REGION=${{QSC_REGION:-{shlex.quote(str(target.get('region') or 'us-east-1'))}}}"]
    user = ('"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"' if target.get("live")
            else '"${AWS_ACCESS_KEY_ID:-test}:${AWS_SECRET_ACCESS_KEY:-test}"')
    lines += ["",
              "send() {  # METHOD PATH [curl arguments]: one request to $QSC_TARGET, signed by curl; its answer printed",
              '  method=$1 path=$2; shift 2',
              '  curl --include --silent --show-error --path-as-is -X "$method" "$QSC_TARGET$path" \\',
              f'    --aws-sigv4 "aws:amz:$QSC_REGION:{SERVICE}" --user {user} \\',
              '    ${AWS_SESSION_TOKEN:+-H "X-Amz-Security-Token: $AWS_SESSION_TOKEN"} "$@"',
              "  echo",
              "}",
              "step() { printf '\\n== %s\\n' \"$1\"; }",
              ""]
    return lines


def _send(step: Mapping) -> str:
    """The line that sends one step."""
    words = ["send", shlex.quote(str(step.get("method"))), shlex.quote(str(step.get("path")))]
    body = common.body_of(step)
    if body is None:
        return " ".join(words)
    words += ["-H", shlex.quote(f"Content-Type: {step.get('content_type') or 'application/json'}")]
    if "body_base64" in step or "\x00" in body.decode("utf-8", "replace"):
        encoded = base64.b64encode(body).decode("ascii")
        return f"printf '%s' {shlex.quote(encoded)} | base64 -d | " + " ".join(words + ["--data-binary", "@-"])
    return " ".join(words + ["--data-binary", shlex.quote(body.decode("utf-8"))])


def _case(doc: Mapping, rule: Mapping) -> list[str]:
    steps = common.steps_of(rule)
    hint = f"set QSC_TARGET to the base URL of the target, e.g. QSC_TARGET={common.repro_target(doc)}"
    hint = re.sub(r"[^A-Za-z0-9:/._=, -]", "", hint)  # inside "${...:?...}": nothing that would end it
    title = common.one_line(f"{rule.get('id')} [{common.level_text(rule)}]: {rule.get('message') or ''}", 300)
    lines = [f"{shlex.quote(str(rule.get('id')))})",
             f'  : "${{QSC_TARGET:?{hint}}}"',
             f"  step {shlex.quote(title)}"]
    for n, step in enumerate(steps, 1):
        got = f" (the run got {step['answered']})" if step.get("answered") else ""
        what = f"{n}/{len(steps)} {step.get('role')}: {step.get('operation')}, {step.get('why')}{got}"
        lines += [f"  step {shlex.quote(common.one_line(what, 300))}", f"  {_send(step)}"]
    return lines + ["  ;;"]


def render_script(doc: Mapping) -> str:
    """repro.sh for `doc`: a case per failed and advisory rule (failures first)."""
    rules = [r for r in common.failures(doc) + common.advisories(doc)]
    usable = []
    for rule in rules:
        try:
            common.steps_of(rule)
        except common.ReproError:
            continue
        usable.append(rule)
    lines = _header(doc, usable)
    listing = "\n".join(str(r.get("id")) for r in usable)
    lines += [f"rules={shlex.quote(listing)}", 'case "${1:-}" in']
    for rule in usable:
        lines += _case(doc, rule)
    lines += ["*)",
              '  echo "usage: QSC_TARGET=URL sh repro.sh RULE_ID, where RULE_ID is one of:" >&2',
              '  echo "$rules" >&2',
              "  exit 2",
              "  ;;",
              "esac"]
    return "\n".join(lines) + "\n"
