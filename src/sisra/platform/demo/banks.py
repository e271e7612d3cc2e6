"""The demo's word lists and tables, read from the JSON files of ``data/`` beside this module.

What the demo writes is data, not code: names, cities, professions, sentence banks of the
letters, biology panels... live in ``data/<name>.json`` (shipped in the wheel with the
package) and are read once. JSON has no tuples: arrays come back as tuples, so that the
banks stay immutable and compare as the literals they replaced did.
"""

import json
from functools import cache
from importlib.resources import files
from typing import Any


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


@cache
def load(name: str) -> Any:
    """The bank ``data/<name>.json``, arrays as tuples (cached: one read per process)."""
    text = files("sisra.platform.demo").joinpath("data", f"{name}.json").read_text("utf-8")
    return _frozen(json.loads(text))
