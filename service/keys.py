"""API keys as the server is configured with them: who holds a key, its role, what it may
read, and only the SHA-256 of the key itself (DESIGN.md "Privacy and trust").

Settings hold a list of these; the web edge (``service.api.access``) checks requests
against them; ``deadzone api-key`` makes new ones.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from typing import Final, Literal

from pydantic import BaseModel, Field

ALL_OPERATORS: Final = "*"

Role = Literal["planner", "authority"]


class ApiKey(BaseModel):
    """One configured key: who holds it, what it may read, and the SHA-256 of the key."""

    name: str = Field(min_length=1, description="Holder, for logs and error messages.")
    role: Role
    operators: list[str] = Field(
        default_factory=list,
        description="MCC-MNC codes a planner may read ('*': all); ignored for authority.",
    )
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hex SHA-256 of the key.")

    def may_read(self, operator: str) -> bool:
        if self.role == "authority":
            return True
        return ALL_OPERATORS in self.operators or operator in self.operators


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A random key, 256 bits, URL-safe (it may travel in a query string)."""
    return secrets.token_urlsafe(32)


def find_key(keys: Collection[ApiKey], key: str) -> ApiKey | None:
    """The configured entry of ``key``, comparing digests in constant time."""
    digest = key_digest(key)
    found = None
    for entry in keys:  # no early return: the time does not tell which entry matched
        if hmac.compare_digest(entry.sha256, digest):
            found = entry
    return found
