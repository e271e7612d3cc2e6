"""Domain errors: a stable machine ``code``, a French ``message`` and an HTTP status."""

from typing import Any

from starlette.responses import JSONResponse


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


def error_response(exc: SisraError) -> JSONResponse:
    """The API's answer to a domain error (the app's exception handler, and the inbox's fast
    lane, which answers below it)."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def invalid_value_response() -> JSONResponse:
    """PostgreSQL refusing a value (too long for its column, out of range): the input was
    wrong, and the transaction is already rolled back. Routes validate first; this is the
    backstop that keeps a missed check from being a 500."""
    return JSONResponse(
        {
            "code": "invalid_value",
            "message": "Une valeur saisie est trop longue ou hors limites.",
        },
        status_code=422,
    )
