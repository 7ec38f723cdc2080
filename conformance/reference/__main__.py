import sys

from qsconform.conformance.reference import main

sys.exit(main())
