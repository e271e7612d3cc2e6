"""Headless MonSisra engine: the desktop client's logic without any user interface.

No Qt here, and no import of ``sisra.platform``: the client only talks to the platform
over HTTP.
"""
