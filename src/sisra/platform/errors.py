"""Domain errors: a stable machine ``code``, a French ``message`` and an HTTP status."""

from typing import Any


class SisraError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


class NotAuthenticated(SisraError):
    status = 401
    code = "not_authenticated"


class Forbidden(SisraError):
    status = 403
    code = "forbidden"


class NotFound(SisraError):
    status = 404
    code = "not_found"


class Conflict(SisraError):
    status = 409
    code = "conflict"


class Invalid(SisraError):
    status = 422
    code = "invalid"


class TooLarge(SisraError):
    status = 413
    code = "file_too_large"


class TooManyAttempts(SisraError):
    status = 429
    code = "too_many_attempts"
