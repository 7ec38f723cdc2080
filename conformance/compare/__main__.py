"""python -m qsconform.conformance.compare: the same as `qsconform compare`."""
import sys

from qsconform.conformance.compare.cli import main

sys.exit(main(sys.argv[1:]))
