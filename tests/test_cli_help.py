"""Every ``sisra`` command's ``--help`` is French, Typer's and Click's own words included, and
every option says what it does; a wrong command line gets a French error."""

import re
from collections.abc import Iterator

import pytest
import typer
from typer import _click
from typer.testing import CliRunner

from sisra.cli import app

# Typer's and Click's English words (help headings, notes and errors)
ENGLISH = [
    "Usage",
    "Show this message",
    "Commands",
    "Error",
    "Try '",
    "for help",
    "default:",
    "[required]",
    "env var",
    "completion",
    "Missing",
    "No such",
    "Invalid value",
    "Did you mean",
    "Input should",
    "Got unexpected",
    "requires an argument",
    "is not a valid",
    "Aborted",
    "COMMAND [",
    "[ARGS",
    "<int>",
    "<str>",
    "<text>",
    "<path>",
    "<bool>",
    "<float>",
]


def _commands(
    command: _click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], _click.Command]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


ROOT = typer.main.get_command(app)
COMMANDS = list(_commands(ROOT))


def _flat(text: str) -> str:
    """The output without rich's panel borders and line breaks (a fragment may be wrapped)."""
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", text))


def _english(text: str) -> list[str]:
    flat = _flat(text)
    return [fragment for fragment in ENGLISH if fragment in flat]


def test_the_walk_sees_every_application() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"demo", "dev mails", "dev make-card", "client add-user", "admin devices"} <= paths


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "sisra" for p, _ in COMMANDS]
)
def test_help_is_french_and_complete(path: tuple[str, ...], command: _click.Command) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "Utilisation : " in result.output
    assert "Afficher cette aide et quitter." in result.output
    assert _english(result.output) == [], result.output
    assert command.help or command.short_help, f"« sisra {' '.join(path)} » sans description"
    undocumented = [
        p.name
        for p in command.params
        if isinstance(p, _click.core.Parameter)
        and p.param_type_name in ("option", "argument")
        and not getattr(p, "hidden", False)
        and not (getattr(p, "help", None) or "").strip()
    ]
    assert undocumented == [], f"sisra {' '.join(path)} : paramètres sans aide {undocumented}"


@pytest.mark.parametrize(
    ("args", "french"),
    [
        (["demo", "--bogus"], "Option inconnue : --bogus"),
        (["demo", "--port", "abc"], "un nombre entier est attendu"),
        (["dev", "make-card"], "Argument manquant : « IDENTIFIANT »"),
        (["dev", "nope"], "Commande inconnue : « nope »"),
        (["admin", "devices", "a", "b"], "Argument(s) en trop"),
        (["client", "list", "--account"], "attend une valeur"),
    ],
)
def test_a_wrong_command_line_gets_a_french_error(args: list[str], french: str) -> None:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "100"})
    assert result.exit_code == 2
    assert french in _flat(result.output), result.output
    assert "Erreur" in result.output
    assert _english(result.output) == [], result.output
