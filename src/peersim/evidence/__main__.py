"""``python -m peersim.evidence``: the same as ``peersim-register``."""

import sys

from peersim.evidence.cli import main

sys.exit(main())
