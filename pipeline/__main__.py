"""``python -m pipeline`` is the ``kennzeichen-checkin`` command."""

import sys

from pipeline.cli import main

sys.exit(main())
