"""``python -m peersim.sweep <sweep_dir> [...]``: rebuild a sweep's table and charts by hand."""

import sys

from peersim.sweep.end import main

sys.exit(main())
