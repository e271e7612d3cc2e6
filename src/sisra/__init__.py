"""sisra: regional platform and MonSisra client for exchanging medical documents."""

__version__ = "0.1.0"
