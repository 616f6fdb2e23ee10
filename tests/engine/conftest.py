"""An engine over the repository's flows, with the people of the charts, per backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flowengine.engine import Engine
from tests.conftest import FLOWS
from tests.engine.helpers import add_people


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = Engine.open(db_url, FLOWS, upgrade=True)
    add_people(engine)
    yield engine
    engine.close()
