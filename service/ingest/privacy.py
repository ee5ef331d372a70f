"""Device tokens are personal data: only a keyed hash of them is stored."""

from __future__ import annotations

import hashlib
import hmac

# 16 bytes (128 bits) of HMAC-SHA256: collisions between the province's few hundred
# thousand devices are astronomically unlikely, and each stored reading saves 16 bytes.
DEVICE_HASH_BYTES = 16


class DeviceHasher:
    """HMAC-SHA256 of device tokens with the server secret, memoised per token.

    A batch usually comes from one phone, so the memo turns thousands of HMACs into one.
    """

    def __init__(self, secret: str) -> None:
        self._key = secret.encode()
        self._memo: dict[str, bytes] = {}

    @property
    def key(self) -> bytes:
        """The server secret, for other keyed hashes of personal data (networks)."""
        return self._key

    def hash(self, token: str) -> bytes:
        digest = self._memo.get(token)
        if digest is None:
            digest = hmac.new(self._key, token.encode(), hashlib.sha256).digest()[
                :DEVICE_HASH_BYTES
            ]
            if len(self._memo) > 100_000:
                self._memo.clear()
            self._memo[token] = digest
        return digest
