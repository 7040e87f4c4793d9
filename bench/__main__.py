"""``python -m bench`` runs the command line."""

import sys

from bench.cli.main import main

sys.exit(main())
