"""``python -m book.data``: runs the command line in `book.data.cli` (see there)."""

import sys

from book.data.cli import main

sys.exit(main())
