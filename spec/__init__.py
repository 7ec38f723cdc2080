"""The operation specs of qsconform, as data. See spec/README.md."""
from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parent
