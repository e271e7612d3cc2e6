"""Who is asking, and from where: passed from routes to services."""

import uuid
from dataclasses import dataclass

from sisra.platform.models import Professional, Role


@dataclass(frozen=True)
class Actor:
    id: uuid.UUID
    role: Role
    label: str
    device_id: uuid.UUID | None = None

    @classmethod
    def of(cls, pro: Professional, device_id: uuid.UUID | None = None) -> "Actor":
        return cls(pro.id, pro.role, f"{pro.display_name} ({pro.login})", device_id)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.administrator


@dataclass(frozen=True)
class RequestContext:
    actor: Actor | None
    ip: str | None = None
    user_agent: str | None = None

    def with_actor(self, actor: Actor) -> "RequestContext":
        return RequestContext(actor, self.ip, self.user_agent)


SYSTEM = RequestContext(actor=None, ip=None, user_agent="sisra-cli")
