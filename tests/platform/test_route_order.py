"""The order of the app's routers: the API first, and no route shadowed by another.

FastAPI finds a request's route by walking the app's routers in order, so the API routers
come before the web pages' (less CPU per API request). Reordering is only safe while every
route is still the first to match its own paths, which this checks for every route.
"""

import re
import uuid
from typing import Any

from starlette.routing import BaseRoute, Match, Mount, Route

from sisra.platform.app import create_app
from sisra.platform.settings import Settings

_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-z]+))?}")
_SAMPLES = {"uuid": str(uuid.UUID(int=7)), "int": "7", "path": "a/b", "str": "x", None: "x"}


def _flat(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The app's routes in the order they are tried, included routers opened."""
    flat: list[BaseRoute] = []
    for route in routes:
        inner: Any = getattr(route, "original_router", None)
        flat.extend(_flat(inner.routes) if inner is not None else [route])
    return flat


def _sample(path: str) -> str:
    return _PARAM.sub(lambda m: _SAMPLES.get(m.group(2), "x"), path)


def test_every_route_is_the_first_to_match_its_paths(settings: Settings) -> None:
    app = create_app(settings)
    routes = _flat(app.routes)
    checked = 0
    for route in routes:
        if not isinstance(route, Route) or isinstance(route, Mount):
            continue
        method = sorted(route.methods or {"GET"})[0]
        scope = {"type": "http", "path": _sample(route.path), "method": method, "root_path": ""}
        first = next(r for r in routes if r.matches(scope)[0] == Match.FULL)
        taken_by = getattr(first, "path", first)
        assert first is route, f"{route.path} ({method}) is taken by {taken_by}"
        checked += 1
    assert checked > 100
    app.state.engine.dispose()


def test_api_routes_are_tried_before_the_web_pages(settings: Settings) -> None:
    app = create_app(settings)
    paths = [getattr(r, "path", "") for r in _flat(app.routes)]
    last_api = max(i for i, p in enumerate(paths) if p.startswith("/api/v1/inbox"))
    first_page = paths.index("/connexion")
    assert last_api < first_page
    app.state.engine.dispose()
