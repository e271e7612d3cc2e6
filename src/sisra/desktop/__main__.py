"""``python -m sisra.desktop``: MonSisra without the ``sisra`` command's other imports (what
the launch-at-startup entry runs; it reaches the CONNEXION window sooner)."""

import sys

from sisra.desktop.launch import main

if __name__ == "__main__":
    sys.exit(main())
