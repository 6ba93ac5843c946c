"""A real etcd for the whole session (one per session: start-up costs ~1 s), a fresh prefix per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.etcd import EtcdServer


@pytest.fixture(scope="session")
def etcd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdServer]:
    with EtcdServer(Path(tmp_path_factory.mktemp("etcd"))) as server:
        yield server


@pytest.fixture
def prefix() -> str:
    """Keys of one test never meet another test's: each gets its own prefix."""
    return f"/runner-test/{uuid.uuid4().hex[:8]}/agents/"
