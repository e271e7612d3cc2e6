"""The suite's hooks. The fixtures are pytest plugins by concern in ``tests/fixtures/``
(database, servers, personas, browser, cards, PSC, desktop); the helpers tests share are in
``tests/support/`` (tests import those, never ``conftest`` or another test module)."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# the helpers' asserts are reported as the tests' own (before anything imports them)
pytest.register_assert_rewrite("support", "fixtures")

from needs import PROGRAMS, need, present, required, summary_lines  # noqa: E402

# Qt runs offscreen in tests (real Qt, no screen); set before any QApplication exists.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = [
    "fixtures.database",
    "fixtures.servers",
    "fixtures.personas",
    "fixtures.browser",
    "fixtures.cards",
    "fixtures.psc",
    "fixtures.desktop",
    "fixtures.printing",
    "fixtures.cpu_profile",
]


def pytest_collection_finish(session: pytest.Session) -> None:
    """What exists once the tests are collected (modules, classes, the app's code) lives for
    the whole run: out of the collector's sight, a full collection only walks what the tests
    make since, and stays short (a long pause makes a live server miss a client's timeout)."""
    import gc

    gc.collect()
    gc.freeze()


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Iterator[None]:
    """Under ``pytest -n N --dist loadgroup`` (``make test``), the tests sharing a fixture
    broader than a test but defined by a test module or a sub-folder's conftest (a module's
    SoftHSM token, a session's .deb build) run on one worker, which builds it once. The
    fixtures of ``tests/fixtures`` (database, SMTP, S3, the PSC provider…) are per worker.

    A test whose fixtures reach the test database (``database_url``, which every fixture of
    the platform's database, settings, app or live server goes through) is marked
    ``database``: the PostgreSQL pass of ``make test`` runs only those (``-m database``), the
    others would run there exactly as on SQLite (docs/decisions.md 177)."""
    here = Path(__file__).parent
    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)
        group = _group(item, here)
        if group is not None and getattr(config.option, "loadgroup", False):
            _tag_group(item, group)
    return (yield)


def _group(item: pytest.Item, here: Path) -> str | None:
    """The worker group of a test: its own ``xdist_group`` marks (a resource such as dpkg that
    tests of several modules must never use at once), else the first test module or
    sub-folder conftest defining a fixture broader than a test that it uses."""
    explicit = sorted({str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args})
    if explicit:
        return "_".join(explicit)
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    files = sorted(
        {
            Path(defs[-1].func.__code__.co_filename)
            for defs in info.name2fixturedefs.values()
            if defs and defs[-1].scope != "function"
        }
    )
    shared = [
        f.relative_to(here).as_posix()
        for f in files
        if f.is_relative_to(here) and f.parent != here / "fixtures"
    ]
    return shared[0] if shared else None


def _tag_group(item: pytest.Item, group: str) -> None:
    """Put the group where pytest-xdist's scheduler reads it: after the last « @ » of the
    test's id as the worker reports it. pytest-xdist's own hook writes ``item._nodeid``,
    which pytest 9.2 no longer reads (the id is a structured ``_id``), so without this every
    group was ignored and each worker built a group's fixture again (docs/decisions.md 197)."""
    if "@" in item.nodeid.rsplit("]", 1)[-1]:
        return
    tagged = f"{item.nodeid}@{group}"
    if hasattr(item, "_id"):
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(tagged)
    else:  # pytest before 9.2
        item._nodeid = tagged


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs(*programs): system programs the test needs (tests/needs.py)"
    )
    config.addinivalue_line(
        "markers",
        "database: the test reaches the test database (set by the suite, never by hand)",
    )


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    """Without Qt's system libraries the desktop tests cannot even be imported: leave them out
    with the summary line (a failure under SISRA_REQUIRE_SYSTEM=1, where they are collected)."""
    is_desktop = collection_path.name == "desktop" and collection_path.parent.name == "tests"
    if is_desktop and not present("qt") and not required():
        from needs import missing_seen

        missing_seen["qt"] = missing_seen.get("qt", 0) + 1
        return True
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        unknown = [name for name in mark.args if name not in PROGRAMS]
        assert not unknown, f"unknown program(s) in @pytest.mark.needs: {unknown}"
        need(*mark.args)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = summary_lines()
    if lines:
        terminalreporter.section("programmes système manquants")
        for line in lines:
            terminalreporter.write_line(line)
