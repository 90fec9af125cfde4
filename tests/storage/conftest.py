"""The storage tests' fixtures: the shipped fixture file and a store on each engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage.store import KnowledgeStore
from bot.storage.usage import Insights
from tests.conftest import Backend
from tests.storage.store_worker import write_fixture


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    return write_fixture(tmp_path / "faq.yaml")


@pytest.fixture
def store(shipped: Path, engine: Backend) -> KnowledgeStore:
    return engine.store(shipped)


@pytest.fixture
def insights(engine: Backend) -> Insights:
    return engine.insights()
