"""Development and test tooling (test PKI, SoftHSM2 "CPS cards").

Never used by the platform in production: nothing under ``sisra.platform`` or
``sisra.client`` may import this package.
"""
