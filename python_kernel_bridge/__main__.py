"""``python -m python_kernel_bridge``: prints the bridge version (later issues add ``verify``)."""

import sys

from . import __version__

if __name__ == "__main__":
    print(f"jupyterlab-aiev bridge {__version__}")
    sys.exit(0)
