"""MonSisra desktop (PySide6): windows and Qt adapters over :mod:`sisra.client`.

Nothing here talks to the network, the disk or the card on the UI thread: blocking work goes
through :func:`sisra.desktop.tasks.run_task` (a thread pool) or the account's sync thread, and
comes back as Qt signals.
"""
