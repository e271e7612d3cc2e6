"""The packaged MonSisra's entry point: what ``python -m sisra.desktop`` runs."""

import sys

from sisra.desktop.app import run

if __name__ == "__main__":
    server = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--server=")), None)
    sys.exit(run(sys.argv, server))
