"""Admin pages (``/admin/…``): directory, devices, audit trail, duplicate identities and
care-team memberships.

Administrators manage the directory and read the audit; they never see clinical content.
Every page takes its caller as ``kit.Admin``: others get the French refusal page (403,
audited).
"""

from fastapi import APIRouter

from sisra.platform.web.admin import audit, care_team, devices, directory, identities

routers: tuple[APIRouter, ...] = tuple(
    m.router for m in (directory, devices, audit, identities, care_team)
)
