"""The packaged MonSisra's entry point: what ``python -m sisra.desktop`` runs.

Given :data:`sisra.common.pdfrender.WORKER_FLAG` first, it is instead the bounded first-page
render process the hover preview starts (the frozen executable has no ``-m``); given
:data:`sisra.client.printing.cups_backend.BACKEND_FLAG`, it is the ``monsisra`` CUPS backend
(``/usr/lib/cups/backend/monsisra`` execs it so)."""

import sys

from sisra.common.pdfrender import WORKER_FLAG

if __name__ == "__main__":
    if sys.argv[1:2] == [WORKER_FLAG]:
        from sisra.common.pdfrender import main

        sys.exit(main(sys.argv[2:]))
    if sys.argv[1:2] == ["--cups-backend"]:  # cups_backend.BACKEND_FLAG, no Qt imported
        from sisra.client.printing.cups_backend import main as backend

        sys.exit(backend([sys.argv[0], *sys.argv[2:]]))
    from sisra.desktop.launch import main as desktop

    sys.exit(desktop())
