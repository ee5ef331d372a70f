"""Fixtures for the simulated province: one small scenario shared by the module's tests."""

from __future__ import annotations

from typing import Any

import pytest

from simulation import Scenario, generate_scenario

SEED = 7


@pytest.fixture(scope="session")
def small_scenario() -> Scenario:
    """The small scenario at the default ``now``."""
    return generate_scenario("small", seed=SEED)


@pytest.fixture(scope="session")
def small_uploads(small_scenario: Scenario) -> list[dict[str, Any]]:
    """Every reading dict of the small scenario, in upload order."""
    return [r for batch in small_scenario.reading_batches(batch_size=500) for r in batch.readings]
