"""Renderings of a compliance document (the dict written as compliance.json) for people and CI.

compliance.md (a CI job summary), compliance.html (one self-contained page), junit.xml and repro.sh (the
stand-alone reproduction of each failure). Pure
functions over the document: nothing here talks to a target or imports the runner.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from qsconform.conformance.render.html import render_html
from qsconform.conformance.render.junit import render_junit
from qsconform.conformance.render.markdown import render_markdown
from qsconform.conformance.render.script import render_script

__all__ = ["render_html", "render_junit", "render_markdown", "render_script", "write_all"]


def _write(path: Path, text: str) -> Path:
    """Write whole or not at all: a CI step reading the file never sees half of it."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def write_all(doc: Mapping, directory: Path, baseline_outcome: Any = None) -> list[Path]:
    """Write compliance.md, compliance.html, junit.xml and repro.sh for `doc` into `directory`; their paths.
    `baseline_outcome`: a BaselineOutcome (or its as_dict()); when None, the document's "baseline" member, if any."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [_write(directory / "compliance.md", render_markdown(doc, baseline_outcome)),
            _write(directory / "compliance.html", render_html(doc, baseline_outcome)),
            _write(directory / "junit.xml", render_junit(doc)),
            _write(directory / "repro.sh", render_script(doc))]
