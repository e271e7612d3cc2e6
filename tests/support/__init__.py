"""Helpers the tests share: plain functions and classes, by concern (the fixtures are pytest
plugins in ``tests/fixtures/``). Tests import them from here (``from support.documents import
share_request``), never from ``conftest`` or from another test module."""
