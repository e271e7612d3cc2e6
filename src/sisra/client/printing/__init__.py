"""Printing to MonSisra: the CUPS backend (:mod:`.cups_backend`) and where printed jobs land
(:mod:`.jobs`). No Qt here: the backend runs under the print server, outside any session."""
