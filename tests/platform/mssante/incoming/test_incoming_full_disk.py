"""A received document that cannot be stored is a temporary failure, never a bounce."""

import subprocess
from pathlib import Path
from typing import Any

import pytest

from .mails import SENDER, lmtp, with_pdf


def _blobs(settings: Any) -> list[Path]:
    root = settings.effective_blob_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_full_disk_is_a_temporary_failure_and_leaves_nothing(
    gateway, mailbox, counts, pdf, settings
):
    """A real full filesystem (a tiny tmpfs mounted over the blob directory): the relay keeps
    the message and tries again later; nothing is half-imported."""
    claire = mailbox("claire.martin")
    blob_dir = Path(settings.effective_blob_dir)
    blob_dir.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(blob_dir)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    msg = with_pdf(claire.address, pdf(padding=200_000))
    try:
        status, text = lmtp(gateway.port, SENDER, [claire.address], msg)[claire.address]
        assert status == 452 and text.startswith("4.3.1 Stockage indisponible"), text
        assert counts() == (0, 0) and _blobs(settings) == []
    finally:
        subprocess.run(["umount", str(blob_dir)], check=False)
    # space comes back: the relay's next attempt is filed
    status, text = lmtp(gateway.port, SENDER, [claire.address], msg)[claire.address]
    assert status == 250, text
