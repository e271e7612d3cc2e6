"""Typer's and Click's own words in French, for every ``sisra`` command line.

Typer vendors its copy of Click, whose strings (« Usage: », « Show this message and exit. »,
the parse errors…) are plain English literals, not gettext calls; Typer's own headings are
gettext calls evaluated once at import. So the translation is made here, in one place, at the
points where those words leave the library: the help headings and the « Usage » prefix, the help
option's line, the type names shown next to options, and every parse error (translated by a
table of patterns when it is displayed). ``apply()`` is idempotent; the ``sisra`` and
``sisra client`` applications call it at import. ``tests/platform/test_cli_help.py`` walks every
command's ``--help`` and fails on any English fragment left.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import typer
import typer.core
import typer.rich_utils as rich_utils
from typer import _click
from typer._click import core as click_core
from typer._click import exceptions as click_exceptions
from typer._click import formatting as click_formatting

HELP_LINE = "Afficher cette aide et quitter."
USAGE_PREFIX = "Utilisation : "
SUBCOMMAND_METAVAR = "COMMANDE [ARGUMENTS]..."

# the headings and notes of Typer's rich help and error panels
_RICH_STRINGS = {
    "DEPRECATED_STRING": "(obsolète) ",
    "DEFAULT_STRING": "[défaut : {}]",
    "ENVVAR_STRING": "[variable d'environnement : {}]",
    "REQUIRED_LONG_STRING": "[obligatoire]",
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commandes",
    "ERRORS_PANEL_TITLE": "Erreur",
    "ABORTED_TEXT": "Abandon.",
    "RICH_HELP": "Aide : [blue]{command_path} {help_option}[/]",
}

# type names shown as <…> next to an option, and in « not a valid … » errors
_TYPES = {
    "int": "entier",
    "str": "texte",
    "text": "texte",
    "float": "nombre",
    "bool": "oui/non",
    "boolean": "oui/non",
    "Path": "chemin",
    "path": "chemin",
    "file": "fichier",
    "directory": "dossier",
    "datetime": "date",
    "integer": "entier",
    "UUID": "identifiant",
}


def _type(name: str) -> str:
    return _TYPES.get(name, name)


# Typer's and Click's error messages (and gettext strings), English pattern → French
_MESSAGES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"No such option: (\S+)"), r"Option inconnue : \1."),
    (re.compile(r"\(Possible options: (.+)\)"), r"(options proches : \1)"),
    (re.compile(r"No such command '(.+?)'\."), r"Commande inconnue : « \1 »."),
    (re.compile(r"\. Did you mean (.+)\?"), r". Vouliez-vous dire \1 ?"),
    (re.compile(r"Missing command\."), "Commande manquante."),
    (re.compile(r"Missing argument '(.+?)'\."), r"Argument manquant : « \1 »."),
    (re.compile(r"Missing option '(.+?)'\."), r"Option manquante : « \1 »."),
    (re.compile(r"Missing (?:parameter|argument|option)\b:? ?(.*?)\.?$"), r"Valeur manquante \1."),
    (
        re.compile(r"Got unexpected extra argument(?:\(s\)|s)? \((.+)\)"),
        r"Argument(s) en trop : \1.",
    ),
    (re.compile(r"Option '(.+?)' requires an argument\."), r"L'option « \1 » attend une valeur."),
    (
        re.compile(r"Option '(.+?)' requires (\d+) arguments\."),
        r"L'option « \1 » attend \2 valeurs.",
    ),
    (
        re.compile(r"Option '(.+?)' does not take a value\."),
        r"L'option « \1 » ne prend pas de valeur.",
    ),
    (
        re.compile(r"Argument '(.+?)' takes (\d+) values\."),
        r"L'argument « \1 » attend \2 valeurs.",
    ),
    (re.compile(r"Invalid value for (.+?): "), r"Valeur invalide pour \1 : "),
    (re.compile(r"^Invalid value: "), "Valeur invalide : "),
    (
        re.compile(r"Value (.+?) is not a valid (\w+)\."),
        lambda m: f"{m[1]} n'est pas un(e) {_type(m[2])} valide.",
    ),
    (re.compile(r"(.+?) is not one of (.+)\."), r"\1 n'est pas parmi : \2."),
    # pydantic's words, when Typer converts a value
    (re.compile(r"Input should be a valid integer\b.*"), "un nombre entier est attendu."),
    (re.compile(r"Input should be a valid number\b.*"), "un nombre est attendu."),
    (re.compile(r"Input should be a valid boolean\b.*"), "oui ou non (true/false) est attendu."),
    (re.compile(r"Input should be (.+?)(?:, .*)?$"), r"valeur attendue : \1."),
    (re.compile(r"Value must be an iterable\."), "une liste est attendue."),
    (re.compile(r"^Aborted!?$"), "Abandon."),
    (re.compile(r"^\(dynamic\)$"), "(dynamique)"),
    (re.compile(r"^default: \{default\}$"), "défaut : {default}"),
    (re.compile(r"^env var: \{var\}$"), "variable d'environnement : {var}"),
    (re.compile(r"^required$"), "obligatoire"),
    (re.compile(r"^Commands$"), "Commandes"),
]


def translate(message: str) -> str:
    """A message of Typer or Click in French (unknown messages are left as they are)."""
    for pattern, replacement in _MESSAGES:
        message = pattern.sub(replacement, message)
    return message


def _french_error(original: Callable[[_click.ClickException], None]) -> Any:
    def show(exc: _click.ClickException) -> None:
        english = exc.format_message
        exc.format_message = lambda: translate(english())  # type: ignore[method-assign]
        original(exc)

    return show


def _plain_show(exc: _click.ClickException, file: Any = None) -> None:
    """The error without rich (TYPER_USE_RICH=0): usage, hint and message, in French."""
    ctx = getattr(exc, "ctx", None)
    err = file or sys.stderr
    if ctx is not None:
        hint = ""
        if ctx.command.get_help_option(ctx) is not None:
            hint = f"Aide : {ctx.command_path} {ctx.help_option_names[0]}\n"
        _click.echo(f"{ctx.get_usage()}\n{hint}", file=err, color=ctx.color)
    _click.echo(f"Erreur : {translate(exc.format_message())}", file=err)


_applied = False


def apply() -> None:
    """Install the French words (once per process)."""
    global _applied
    if _applied:
        return
    _applied = True
    for name, value in _RICH_STRINGS.items():
        setattr(rich_utils, name, value)
    rich_utils.OptionHighlighter.highlights = [
        *rich_utils.OptionHighlighter.highlights[:-1],
        rf"(?P<usage>{USAGE_PREFIX})",
    ]
    rich_utils.highlighter = rich_utils.OptionHighlighter()
    rich_utils.rich_format_error = _french_error(rich_utils.rich_format_error)
    click_exceptions.ClickException.show = _plain_show  # type: ignore[method-assign,assignment]
    click_exceptions.UsageError.show = _plain_show  # type: ignore[method-assign,assignment]
    typer.core._ = translate  # type: ignore[attr-defined]

    write_usage = click_formatting.HelpFormatter.write_usage

    def french_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args, USAGE_PREFIX if prefix is None else prefix)

    click_formatting.HelpFormatter.write_usage = french_usage  # type: ignore[method-assign]

    get_help_option = click_core.Command.get_help_option

    def french_help_option(self: Any, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = HELP_LINE
        return option

    click_core.Command.get_help_option = french_help_option  # type: ignore[method-assign]

    display_type = typer.core._TyperParameter.display_type

    def french_type(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_bool_flag", False):
            return None  # a switch: its name says it all
        label: str = display_type(self, ctx)  # « <int> », or the choices « <a|b> »
        return f"<{_type(label[1:-1])}>" if label.startswith("<") else label

    typer.core._TyperParameter.display_type = french_type  # type: ignore[assignment,method-assign]

    group_init = typer.core.TyperGroup.__init__

    def french_group(self: Any, *args: Any, **kwargs: Any) -> None:
        group_init(self, *args, **kwargs)
        if self.subcommand_metavar == "COMMAND [ARGS]...":
            self.subcommand_metavar = SUBCOMMAND_METAVAR

    typer.core.TyperGroup.__init__ = french_group  # type: ignore[method-assign]


def french_app(**kwargs: Any) -> typer.Typer:
    """A Typer application whose help and errors are French, without shell completion options
    (``--install-completion`` would install an English script in the user's shell)."""
    apply()
    return typer.Typer(add_completion=False, **kwargs)
