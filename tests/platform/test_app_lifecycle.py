"""An app built, served and stopped leaves nothing alive behind it: one process may build
many (the tests build hundreds; a supervisor may rebuild one), and an app kept alive keeps its
engine, settings, templates and caches with it."""

import gc
import threading
import weakref

from fastapi.testclient import TestClient

from sisra.platform.apidocs import DOCS_SCHEMA
from sisra.platform.app import create_app
from sisra.platform.settings import Settings


def test_a_stopped_app_is_freed(settings: Settings) -> None:
    before = set(threading.enumerate())
    app = create_app(settings)
    with TestClient(app) as client:
        # the app's own endpoints, among them those that read the app itself
        for path in ("/api/v1/health", "/healthz", "/openapi.json", DOCS_SCHEMA):
            client.get(path)
    app.state.engine.dispose()
    # A sync endpoint runs in one of the event loop's worker threads, which hands the answer
    # back *before* it drops its own references to the call (the endpoint's request, hence the
    # app). The loop's end stops those threads; on a loaded machine one may not have run its
    # last lines yet (CI saw it once), so the app is freed once the server's threads are done.
    for thread in set(threading.enumerate()) - before:
        thread.join(10)
    alive = weakref.ref(app)
    del app, client
    gc.collect()
    if alive() is not None:  # say who holds it, to find the culprit from one CI log
        holders = [type(r).__name__ for r in gc.get_referrers(alive()) if r is not globals()]
        raise AssertionError(f"something still holds the app (a closure in a cache?): {holders}")
