"""What a public answer may show of a cell: k-anonymity for the phones behind it.

DESIGN.md ("Privacy and trust"): residents' locations are personal data, so a cell's figures
are published only when at least k distinct devices stand behind it (``settings.
publish_min_devices``, default 3). Measured on a production server before this rule: 313 of
1,152 public cells rested on fewer than 3 phones (190 on one), each with its mean signal and
``last_seen`` to the second, which placed one phone in a 0.1 km² hexagon at a given second.

For a caller without a key of a role (``Disclosure.exact`` False):

- a cell behind fewer than k devices keeps its status (the decision rules already need 2-3
  phones) but shows no readings, devices, days, no-service share, signal or time, and is
  marked ``withheld``;
- every published time is rounded down to its UTC day.

A key with a role (planner, authority) sees the figures as stored: their job needs them, and
the design gives them raw and per-operator data. So does a development server without keys
(the demo), like every other open door of development mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

WITHHELD_FIGURES: Final = (
    "readings", "devices", "days", "no_service_share", "signal_dbm_mean", "last_seen",
)  # fmt: skip
"""Cell properties a public answer leaves out (null) below k devices."""


@dataclass(frozen=True)
class Disclosure:
    """``min_devices`` is k; ``exact`` True for callers who see every figure as stored."""

    min_devices: int
    exact: bool

    def cell(self, properties: dict[str, Any]) -> dict[str, Any]:
        """A cell's properties as this caller may see them (changed in place and returned);
        adds ``withheld``."""
        thin = not self.exact and (properties.get("devices") or 0) < self.min_devices
        properties["withheld"] = thin
        if thin:
            for name in WITHHELD_FIGURES:
                properties[name] = None
        elif not self.exact:
            properties["last_seen"] = self.time(properties.get("last_seen"))
        return properties

    def time(self, value: str | datetime | None) -> Any:
        """A published time: as stored for exact callers, else midnight UTC of its day
        (same type as given: RFC 3339 text or datetime)."""
        if value is None or self.exact:
            return value
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return self.time(datetime.fromisoformat(value)).isoformat()


EXACT: Final = Disclosure(min_devices=1, exact=True)
"""For internal callers (the CLI, exports made by the operator on the server)."""
