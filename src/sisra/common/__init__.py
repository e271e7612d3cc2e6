"""Pure helpers shared by the platform and the client: no I/O, no framework imports."""
