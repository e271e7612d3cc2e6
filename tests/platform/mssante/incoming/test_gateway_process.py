"""`sisra mssante-gateway`: the gateway as operators run it, a process of its own beside the
web workers, sharing only the database and the blob store."""

import os
import signal
import subprocess
import sys
import time
from typing import Any

from sqlalchemy import select

from conftest import free_port
from sisra.platform.models import MailPending

from .mails import PLATFORM_DOMAIN, SENDER, lmtp, with_pdf


def test_the_command_receives_and_stops_cleanly(settings, mailbox, db, pdf, app_client):
    claire = mailbox("claire.martin")
    port = free_port()
    env = {
        **os.environ,
        "SISRA_DATABASE_URL": settings.database_url,
        "SISRA_DATA_DIR": str(settings.data_dir),
        "SISRA_MASTER_KEY": settings.master_key.get_secret_value(),
        "SISRA_MSSANTE_DOMAINS": PLATFORM_DOMAIN,
        "SISRA_MSSANTE_RELAYS": "127.0.0.1/32",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sisra.cli", "mssante-gateway", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert f"LMTP sur 127.0.0.1:{port}" in banner, banner
        replies: dict[str, Any] = {}
        for _ in range(100):  # the banner comes just before the server binds its port
            try:
                replies = lmtp(port, SENDER, [claire.address], with_pdf(claire.address, pdf()))
                break
            except ConnectionRefusedError:
                time.sleep(0.1)
        assert replies[claire.address][0] == 250, replies
        with db() as session:
            pending = session.scalars(select(MailPending)).one()
        # the PDF it stored is readable by the web workers (same master key, same store)
        blobs = app_client.app.state.blobs
        data = b"".join(
            blobs.read(
                pending.blob_key, pending.wrapped_key, pending.document_id.bytes, pending.size
            )
        )
        assert data.startswith(b"%PDF-")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
