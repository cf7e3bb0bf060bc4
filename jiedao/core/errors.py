"""One error type per kind of failure, mapped once to an HTTP status for pages and API alike."""

from __future__ import annotations

from typing import Any


class JiedaoError(Exception):
    """Base of every expected failure. `code` is stable for API clients; `message` is for people."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str = "", *, field: str | None = None, details: Any = None) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.field = field
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(JiedaoError):
    status = 422
    code = "invalid"


class NotFound(JiedaoError):
    """Missing, or out of the caller's scope: both read the same, so scope does not leak existence."""

    status = 404
    code = "not_found"


class Unauthenticated(JiedaoError):
    status = 401
    code = "unauthenticated"


class Forbidden(JiedaoError):
    """In scope and visible, but this role may not do this."""

    status = 403
    code = "forbidden"


class Conflict(JiedaoError):
    status = 409
    code = "conflict"


class TooLarge(JiedaoError):
    status = 413
    code = "too_large"


class RateLimited(JiedaoError):
    status = 429
    code = "rate_limited"
