"""The ``monsisra-service`` package's ``sisra`` command: only ``sisra client …``, MonSisra's
headless engine (no platform, no Qt). Named ``sisra`` so that every command the engine's
messages and the documentation name (« sisra client reauth », « sisra client add-user »…)
is typed as printed."""

import sys

import typer

from sisra.client.cli import app as client_app

app = typer.Typer(
    help="MonSisra sans fenêtre (serveur de cabinet) : « sisra client … ».",
    no_args_is_help=True,
)
app.add_typer(client_app, name="client")

if __name__ == "__main__":
    sys.exit(app(prog_name="sisra"))
