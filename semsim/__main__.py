"""``python -m semsim ...`` = the ``semsim`` command (:mod:`semsim.cli`)."""

import sys

from semsim.cli import main

sys.exit(main())
