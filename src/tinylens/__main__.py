"""``python -m tinylens`` runs the command line."""

import sys

from tinylens.cli.main import main

sys.exit(main())
