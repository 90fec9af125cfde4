"""Shared fixtures: a tiny valid knowledge document and paths to the real files."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings

from bot.config import Settings
from bot.storage.loading import open_database, open_insights, open_store
from bot.storage.store import KnowledgeStore
from bot.storage.usage import Insights

# Property tests are bounded by their example counts, never by the clock: a loaded CI
# machine runs the same examples more slowly instead of failing. Speed is measured in
# benchmarks/, not asserted here. Tests that set their own settings start from these.
settings.register_profile("eln-qa-bot", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("eln-qa-bot")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_KNOWLEDGE = REPO_ROOT / "knowledge" / "faq.yaml"
# Vendored copies of everything the tests read from outside the code (tests/data/README.md
# says where each came from), so a clone with nothing beside it runs every test.
DATA_DIR = REPO_ROOT / "tests" / "data"
SOURCE_DIR = DATA_DIR / "source"
COVERAGE = DATA_DIR / "knowledge-coverage.yaml"
DISCORD_SPEC = DATA_DIR / "discord-api-spec" / "openapi.json"

TINY_DOC: dict[str, Any] = {
    "version": 1,
    "title": "Tiny test knowledge",
    "synonyms": {"new start": ["newstart", "new-start"], "eln": ["european leadership network"]},
    "entries": [
        {
            "id": "signatories",
            "question": "How many people signed the recommendations?",
            "alternates": [
                "who signed it",
                "number of signatories",
                "how many signatures",
                "signatories",
                "did many sign",
                "how many ppl signed this",
            ],
            "answer": "145 people from 20 countries signed them.",
            "passage": "The recommendations are signed by 145 people from 20 countries",
            "sources": [{"title": "NATO Watch", "url": "https://natowatch.org/"}],
            "tags": ["recommendations"],
            "related": ["new-start"],
        },
        {
            "id": "new-start",
            "question": "What do the recommendations say about New START?",
            "alternates": [
                "new start",
                "extend new start",
                "new start extension",
                "what is new start",
                "strategic arms treaty extension",
                "five year extension",
            ],
            "answer": "They call for extending the New START Treaty for five years.",
            "sources": [{"title": "NATO Watch", "url": "https://natowatch.org/"}],
            "tags": ["treaties"],
        },
        {
            "id": "action-open-skies",
            "question": "What is the seventh urgent action?",
            "alternates": [
                "preserve open skies",
                "open skies treaty recommendation",
                "keep open skies",
                "surveillance flights treaty",
                "aerial observation flights",
                "open skies",
            ],
            "answer": "Preserving the Open Skies Treaty.",
            "sources": [{"title": "NATO Watch", "url": "https://natowatch.org/"}],
            "tags": ["urgent-actions"],
            "action": 7,
        },
    ],
}


@pytest.fixture
def tiny_doc() -> dict[str, Any]:
    """A fresh, valid knowledge document each test may mutate."""
    return copy.deepcopy(TINY_DOC)


@pytest.fixture
def write_knowledge(tmp_path: Path) -> Callable[[Any], Path]:
    """Write a document (or raw YAML text) to a file and return its path."""

    def write(doc: Any, name: str = "faq.yaml") -> Path:
        path = tmp_path / name
        text = (
            doc
            if isinstance(doc, str)
            else yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        )
        path.write_text(text, encoding="utf-8")
        return path

    return write


def open_test_store(shipped: Path, data_dir: Path) -> KnowledgeStore:
    """The store the bot and the CLI would open for this shipped file and data directory."""
    chosen = Settings(knowledge_path=shipped, data_dir=data_dir)
    return open_store(chosen, open_database(chosen))


def open_test_insights(data_dir: Path) -> Insights:
    """The usage records the bot would open in this data directory."""
    chosen = Settings(data_dir=data_dir)
    return open_insights(chosen, open_database(chosen))
