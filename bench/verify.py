"""What authenticating a download before sending it costs (docs/security.md, decision 48).

    .venv/bin/python bench/verify.py [--mb 25] [--runs 5]

A document of ``--mb`` MB is encrypted into a filesystem blob store in a temporary directory;
the script times streaming it (``read``, what a download did before) and verifying then
streaming it (``verify`` + ``read``, what a download does now), best of ``--runs``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sisra.platform.storage import EncryptedBlobs, FilesystemBlobStore


def _best(runs: int, fn: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=25)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    size = args.mb * 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        blobs = EncryptedBlobs(FilesystemBlobStore(Path(tmp)), os.urandom(32))
        aad = os.urandom(16)
        data = os.urandom(size)
        stored = blobs.write(aad, [data[i : i + (1 << 20)] for i in range(0, size, 1 << 20)])
        args_ = (stored.key, stored.wrapped_key, aad, stored.size)

        def stream() -> None:
            for _ in blobs.read(*args_):
                pass

        def verify_then_stream() -> None:
            blobs.verify(*args_)
            stream()

        before = _best(args.runs, stream)
        after = _best(args.runs, verify_then_stream)
    print(f"{args.mb} MB document, best of {args.runs}:")
    print(f"  stream only (before)      {before * 1000:8.1f} ms  {args.mb / before:7.0f} MB/s")
    print(f"  verify, then stream (now) {after * 1000:8.1f} ms  {args.mb / after:7.0f} MB/s")
    print(f"  added before the first byte: {(after - before) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
