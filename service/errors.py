"""One tree of domain errors, named for what went wrong, not for an HTTP status.

The command line raises and reports these as well as the web API; the one map from error
class to HTTP status lives at the web edge (``service.api.errors``). Every message says
what was wrong and where (``field``, and any detail such as a row or line), in a sentence
a user can act on.
"""

from __future__ import annotations

from typing import Any


class DeadzoneError(Exception):
    """Base of every error deadzone raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.detail = detail

    def body(self) -> dict[str, Any]:
        """What a client or a terminal may be shown: the class name, message and where."""
        body: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.detail)
        return body


class ConfigurationError(DeadzoneError):
    """Settings that deadzone refuses to run with: the operator's problem, never the
    client's (the API answers a generic 500 and logs this)."""


class MalformedInput(DeadzoneError):
    """The input cannot be read at all (not JSON, bad gzip, an empty body)."""


class InputTooLarge(DeadzoneError):
    """The input is larger than deadzone accepts (before or after decompression)."""


class InvalidInput(DeadzoneError):
    """The input is readable but does not have the documented shape or values."""


class AuthenticationRequired(DeadzoneError):
    """No credentials, or credentials deadzone does not know."""


class AccessDenied(DeadzoneError):
    """Known credentials, or none needed, but not allowed to read or change this."""


class NotFound(DeadzoneError):
    """The thing asked for does not exist."""


class StorageUnavailable(DeadzoneError):
    """The database failed; nothing of the request or command was stored."""


class Busy(DeadzoneError):
    """Another run of the same job holds its lock (one aggregation at a time); try later."""


class RateLimited(DeadzoneError):
    """Too many requests or readings from one device, key or address in a window.
    ``retry_after_s`` says when the next one will be taken."""

    def __init__(self, message: str, *, retry_after_s: int, **detail: Any) -> None:
        super().__init__(message, retry_after_s=retry_after_s, **detail)
        self.retry_after_s = retry_after_s
