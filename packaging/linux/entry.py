"""The packaged MonSisra's entry point: what ``python -m sisra.desktop`` runs.

Given :data:`sisra.common.pdfrender.WORKER_FLAG` first, it is instead the bounded first-page
render process the hover preview starts (the frozen executable has no ``-m``)."""

import sys

from sisra.common.pdfrender import WORKER_FLAG

if __name__ == "__main__":
    if sys.argv[1:2] == [WORKER_FLAG]:
        from sisra.common.pdfrender import main

        sys.exit(main(sys.argv[2:]))
    from sisra.desktop.app import run

    server = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--server=")), None)
    sys.exit(run(sys.argv, server))
