"""The matcher on the shipped knowledge against the labelled dev set: the release bar."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.decision import model_beside
from bot.core.evaluation import evaluate, format_report, load_labelled
from bot.core.knowledge import load
from bot.core.matching import Matcher
from tests.conftest import SHIPPED_KNOWLEDGE

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    knowledge, _ = load(SHIPPED_KNOWLEDGE)
    return Matcher(knowledge, model=model_beside(SHIPPED_KNOWLEDGE))


def test_dev_set_is_big_enough_and_labelled_with_real_ids(matcher: Matcher) -> None:
    labelled = load_labelled(DATA / "dev_set.yaml")
    assert len(labelled.in_scope) >= 150
    assert len(labelled.out_of_scope) >= 50
    known = set(matcher.knowledge.by_id)
    assert {i for _, ids in labelled.in_scope for i in ids} <= known


def test_dev_set_accuracy_and_declines(matcher: Matcher) -> None:
    report = evaluate(matcher, load_labelled(DATA / "dev_set.yaml"))
    assert report.accuracy >= 0.95, format_report(report)
    assert report.decline_rate >= 0.95, format_report(report)


def test_held_out_set_stays_close(matcher: Matcher) -> None:
    """Never tuned on: a guard that dev-set gains generalise (a looser bar on purpose)."""
    report = evaluate(matcher, load_labelled(DATA / "holdout_set.yaml"))
    assert report.accuracy >= 0.85, format_report(report)
    assert report.decline_rate >= 0.93, format_report(report)


def test_readme_question_is_answered_with_the_recommendations(matcher: Matcher) -> None:
    result = matcher.match("What did the experts recommend?")
    assert result.entry is not None and result.entry.id == "urgent-actions"
