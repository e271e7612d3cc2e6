"""The MSSanté gateway: mail to and from professionals on other MSSanté operators.

Outgoing (this package's ``outbox``, ``message``, ``sender``): a share naming a correspondent
of another operator writes an outbox row in its transaction; the sender thread of each server
process mails it through the operator's relay and retries it; ``receipts`` turns the delivery
and disposition reports that come back into the receipts the author sees.

Incoming (``gateway``, ``inbound``, ``matching``, ``service``, ``pages``): ``sisra
mssante-gateway`` receives by LMTP from the operator's relay, files each document about its
patient or keeps it « à rapprocher » for its recipients.
"""
