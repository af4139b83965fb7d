"""``python -m scalargrad``: the same command line as ``scalargrad``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
