"""``sisra client …``: MonSisra's engine on the command line (and on practice servers).

Accounts live in the user's data folder (``MONSISRA_HOME`` overrides it); each has its local
password, which unlocks its vault. In scripts, secrets are read from standard input, one per
line, in the order they are asked.

The commands live by group in this package's modules (accounts, documents, service); they are
registered here, in the order ``--help`` lists them.
"""

from sisra.cli_french import french_app
from sisra.client.cli import accounts, documents, service

app = french_app(help="MonSisra en ligne de commande.", no_args_is_help=True)

app.command("add-user")(accounts.add_user)
app.command("list")(documents.list_documents)
app.command()(documents.failures)
app.command()(service.sync)
app.command()(accounts.settings)
app.command("open")(documents.open_document)
app.command()(documents.delete)
app.command()(documents.reply)
app.command()(documents.send)
app.command()(documents.record)
app.command()(accounts.password)
app.command()(accounts.reauth)
app.command("open-page")(documents.open_page)
app.command()(service.daemon)
app.command()(service.status)
