"""MonSisra desktop: time to the CONNEXION window, and DOCUMENTS REÇUS with 10,000 rows.

    .venv/bin/python bench/desktop.py [--runs 7] [--rows 10000]

1. Startup: ``sisra desktop --startup-time`` is launched ``--runs`` times with one user on
   the computer; the time is wall-clock from process creation to the CONNEXION window shown
   (the process prints when the window is shown). Offscreen Qt, so no compositor cost.
2. Table: 10,000 received documents in a local state; the DOCUMENTS REÇUS window is built and
   each step a user causes is timed: loading the list, first paint, re-sorting, a search
   keystroke, the « Non lus » filter, jumping to the end and painting, one new document
   arriving, and a repaint of the visible rows (what scrolling costs). No server: the sync is
   not started.

Each figure comes with the CPU time used meanwhile (the started process's, or this process's,
every thread): on a shared machine the wall clock also counts the waits for a core.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PASSWORD = "Mon-mot-de-passe-local"


def make_account(home: Path, rows: int) -> tuple[object, object]:
    from sisra.client.accounts import AccountStore
    from sisra.devtools.inbox import fill_state, offline_account

    store = AccountStore(home)
    account = offline_account(store, PASSWORD)
    if rows:
        fill_state(account.state_path, rows).close()
    return store, account


COMMANDS = {
    "python -m sisra.desktop (launch at startup, shortcuts)": ["-m", "sisra.desktop"],
    "sisra desktop (the command line)": ["-m", "sisra.cli", "desktop"],
}


def bench_startup(runs: int, command: list[str]) -> tuple[list[float], list[float]]:
    """Seconds to the first window, and the CPU seconds each process used (it quits at once
    after that window: what a busy machine does not inflate as much as the wall clock)."""
    times, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "monsisra"
        make_account(home, 0)
        env = {
            **os.environ,
            "MONSISRA_HOME": str(home),
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_DATA_HOME": str(home / "xdg-data"),  # its menu entry, not the real one
        }
        for _ in range(runs):
            used = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, *command, "--startup-time"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("first-window-shown"):
                    times.append(time.perf_counter() - started)
                    break
            proc.wait(30)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime)
    return times, cpu


HEARTBEAT_MS = 5


def bench_table(rows: int) -> list[tuple[str, float, float | None]]:
    """Each step's wall-clock milliseconds, and the process's CPU milliseconds meanwhile (all
    threads: the list is built in a worker)."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from sisra.desktop.documents import DocumentsWindow
    from sisra.desktop.model import COL_DATE, COL_PATIENT
    from sisra.desktop.session import AccountSession
    from sisra.desktop.tray import Alerts
    from sisra.devtools.inbox import synthetic_item

    app = QApplication.instance() or QApplication(sys.argv)
    results: list[tuple[str, float, float | None]] = []

    def timed(label: str, step: Callable[[], object]) -> None:
        started, cpu = time.perf_counter(), time.process_time()
        step()
        app.processEvents()
        wall, used = time.perf_counter() - started, time.process_time() - cpu
        results.append((label, wall * 1000, used * 1000))

    with tempfile.TemporaryDirectory() as tmp:
        store, account = make_account(Path(tmp) / "monsisra", rows)
        session = AccountSession(store.unlock(account.id, PASSWORD))  # type: ignore[attr-defined]
        window = DocumentsWindow(session, store, Alerts())  # type: ignore[arg-type]
        window.resize(1280, 800)

        stalls = [0.0]

        def load() -> None:
            # awaited in an event loop, as the window is: spinning on processEvents() here
            # would take the GIL from the worker that builds the rows and slow what it
            # measures; a 5 ms heartbeat tells the longest stall of the UI thread
            loop = QEventLoop()
            beats = [time.perf_counter()]

            def beat() -> None:
                now = time.perf_counter()
                stalls.append(max(0.0, (now - beats[-1]) * 1000 - HEARTBEAT_MS))
                beats.append(now)
                if window.model.rowCount() >= rows:
                    loop.quit()

            timer = QTimer()
            timer.setInterval(HEARTBEAT_MS)
            timer.timeout.connect(beat)
            window.model.modelReset.connect(beat)
            timer.start()
            if window.model.rowCount() < rows:
                loop.exec()
            timer.stop()

        timed(f"load the list ({rows} rows, worker thread + model reset)", load)
        results.append(("  of which the UI thread was busy at most, at once", max(stalls), None))
        timed("first paint of the window", lambda: (window.show(), window.grab()))
        asc, desc = Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder
        timed("sort by patient", lambda: window.table.sortByColumn(COL_PATIENT, asc))
        timed("sort back by date (newest first)", lambda: window.table.sortByColumn(COL_DATE, desc))
        timed("search keystroke « m »", lambda: window.search.setText("m"))
        timed("search keystroke « ma »", lambda: window.search.setText("ma"))
        timed("clear the search", lambda: window.search.setText(""))
        timed("filter « Non lus »", lambda: window.filter_box.setCurrentIndex(1))
        timed("filter « Tous les documents »", lambda: window.filter_box.setCurrentIndex(0))
        timed("jump to the end + paint", lambda: (window.table.scrollToBottom(), window.grab()))
        import random
        from datetime import UTC, datetime

        from sisra.client.items import InboxItem
        from sisra.client.state import ItemState

        item = InboxItem.from_json(synthetic_item(rows + 1, random.Random(1), datetime.now(UTC)))
        st = ItemState(item.id, rows + 1, item, "pending", 0, 0.0, None, None, [], False)
        timed("one new document arrives (row inserted, sorted)", lambda: window.model.upsert(st))
        paints = []
        for _ in range(20):
            started = time.perf_counter()
            window.table.viewport().grab()
            paints.append((time.perf_counter() - started) * 1000)
        results.append(
            ("repaint of the visible rows (median of 20)", statistics.median(paints), None)
        )
        window.quitting = True
        window.close()
        session.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    import psutil
    from PySide6 import __version__ as pyside

    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(
        f"machine: {os.cpu_count()} CPU, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, PySide6 {pyside}, QT_QPA_PLATFORM offscreen"
    )
    print(f"\nstartup to the CONNEXION window ({args.runs} runs each), seconds:")
    for label, command in COMMANDS.items():
        startup, cpu = bench_startup(args.runs, command)
        print(
            f"  median {statistics.median(startup):.2f}  min {min(startup):.2f}  "
            f"max {max(startup):.2f}  (CPU median {statistics.median(cpu):.2f})  {label}"
        )
    rss = psutil.Process().memory_info().rss
    table = bench_table(args.rows)
    grown = (psutil.Process().memory_info().rss - rss) / 2**20
    print(f"\nDOCUMENTS REÇUS with {args.rows} rows, milliseconds (wall, CPU):")
    for label, ms, cpu_ms in table:
        print(f"  {ms:8.1f}  {'' if cpu_ms is None else f'{cpu_ms:8.1f}':>8}  {label}")
    print(f"  resident memory grown by {grown:.0f} MiB for the window and its {args.rows} rows")


if __name__ == "__main__":
    main()
