"""``python -m python_kernel_bridge``: the bridge version; ``... verify FILE.json`` replays a sample (``cli.py``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
