"""Renderings of a compliance document (the dict written as compliance.json) for people and CI.

compliance.md (a CI job summary), compliance.html (one self-contained page), junit.xml and repro.sh (the
stand-alone reproduction of each failure). Pure
functions over the document: nothing here talks to a target or imports the runner.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from qsconform.conformance.reporting.render.common import write_whole
from qsconform.conformance.reporting.render.html import render_html
from qsconform.conformance.reporting.render.junit import render_junit
from qsconform.conformance.reporting.render.markdown import render_markdown
from qsconform.conformance.reporting.render.script import render_script

__all__ = ["render_html", "render_junit", "render_markdown", "render_script", "write_all"]


def write_all(doc: Mapping, directory: Path, baseline_outcome: Any = None) -> list[Path]:
    """Write compliance.md, compliance.html, junit.xml and repro.sh for `doc` into `directory`; their paths.
    `baseline_outcome`: a BaselineOutcome (or its as_dict()); when None, the document's "baseline" member, if any."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [write_whole(directory / "compliance.md", render_markdown(doc, baseline_outcome)),
            write_whole(directory / "compliance.html", render_html(doc, baseline_outcome)),
            write_whole(directory / "junit.xml", render_junit(doc)),
            write_whole(directory / "repro.sh", render_script(doc))]
