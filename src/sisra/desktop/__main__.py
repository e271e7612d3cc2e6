"""``python -m sisra.desktop``: MonSisra without the ``sisra`` command's other imports (what
the launch-at-startup entry runs; it reaches the CONNEXION window sooner)."""

import sys

from sisra.desktop.app import run

if __name__ == "__main__":
    server = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--server=")), None)
    sys.exit(run(sys.argv, server))
