from __future__ import annotations

import pytest

from jurisgrid.seed.generate import generate
from jurisgrid.seed.model import DemoCounty

SCALE = 0.02


@pytest.fixture(scope="session")
def county() -> DemoCounty:
    return generate(SCALE, seed=0)


@pytest.fixture(scope="session")
def county_seed1() -> DemoCounty:
    return generate(SCALE, seed=1)
