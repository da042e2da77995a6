"""Run the command line with ``python -m conbench``."""

import sys

from conbench.cli import main

sys.exit(main())
