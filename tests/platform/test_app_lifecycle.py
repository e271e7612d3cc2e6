"""An app built, served and stopped leaves nothing alive behind it: one process may build
many (the tests build hundreds; a supervisor may rebuild one), and an app kept alive keeps its
engine, settings, templates and caches with it."""

import gc
import weakref

from fastapi.testclient import TestClient

from sisra.platform.apidocs import DOCS_SCHEMA
from sisra.platform.app import create_app
from sisra.platform.settings import Settings


def test_a_stopped_app_is_freed(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        # the app's own endpoints, among them those that read the app itself
        for path in ("/api/v1/health", "/healthz", "/openapi.json", DOCS_SCHEMA):
            client.get(path)
    app.state.engine.dispose()
    alive = weakref.ref(app)
    del app, client
    gc.collect()
    assert alive() is None, "something still holds the app (a closure over it in a cache?)"
