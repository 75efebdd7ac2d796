"""Identity's use cases on the in-memory unit of work (`support.fake_identity`): no database."""

from __future__ import annotations

import pytest

from support.fake_identity import FakeIdentity


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()
