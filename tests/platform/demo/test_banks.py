"""The demo's data files: each one is read by the code, each name the code reads has its file."""

import re
from importlib.resources import files
from pathlib import Path

import pytest

from sisra.platform.demo import banks

DEMO = Path(banks.__file__).parent


def _loaded_names() -> set[str]:
    return {
        name
        for path in DEMO.rglob("*.py")
        for name in re.findall(r'\bload\("([a-z_]+)"\)', path.read_text(encoding="utf-8"))
    }


def test_every_data_file_is_read_and_every_read_has_its_file() -> None:
    shipped = {
        p.name.removesuffix(".json")
        for p in files("sisra.platform.demo").joinpath("data").iterdir()
        if p.name.endswith(".json")
    }
    assert shipped == _loaded_names()


def test_banks_are_immutable_and_read_once() -> None:
    streets = banks.load("streets")
    assert isinstance(streets, tuple) and streets and streets is banks.load("streets")
    cities = banks.load("cities")
    assert all(isinstance(city["quarters"], tuple) for city in cities)


def test_an_unknown_bank_is_an_error() -> None:
    with pytest.raises(FileNotFoundError):
        banks.load("no_such_bank")
