"""The operation specs of qsconform, as data. See docs/architecture.md, "The spec"."""
from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parent
