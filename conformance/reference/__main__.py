import sys

from conformance.reference import main

sys.exit(main())
