"""The answer/decline model: fitting, calibration, the shipped file and bad files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bot.core.decision import (
    FEATURES,
    DecisionModel,
    ModelError,
    Sample,
    calibrate,
    expected_calibration_error,
    fit,
    model_beside,
    reliability,
)
from tests.conftest import SHIPPED_KNOWLEDGE


def _samples(n: int, seed: int = 1) -> list[Sample]:
    """Questions whose top candidate is right with probability sigmoid(4 * (score - 0.5))."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        score = rng.random()
        x = (score, *(rng.random() for _ in FEATURES[1:]))
        p_right = 1 / (1 + pow(2.718281828, -8 * (score - 0.5)))
        out.append(Sample(x, rng.random() < p_right, True))
    return out


def test_fit_learns_which_feature_predicts_a_right_answer() -> None:
    model = fit(_samples(600))
    assert model.weights[0] == max(model.weights)
    low, high = (0.1, *([0.5] * 15)), (0.9, *([0.5] * 15))
    assert model.probability(low) < 0.2
    assert model.probability(high) > 0.8


def test_cross_validated_model_is_calibrated_on_fresh_data() -> None:
    model = calibrate(_samples(600))
    fresh = _samples(2000, seed=7)
    probs = [model.probability(s.x) for s in fresh]
    assert expected_calibration_error([s.right for s in fresh], probs) < 0.05
    assert model.cutoffs.suggest <= model.cutoffs.answer <= model.cutoffs.strict


def test_reliability_bins_cover_every_prediction() -> None:
    bins = reliability([True, False, True, True], [0.95, 0.05, 0.55, 1.0])
    assert sum(b.count for b in bins) == 4
    assert [round(b.observed, 2) for b in bins] == [0.0, 1.0, 1.0]


def test_model_round_trips_through_json() -> None:
    model = calibrate(_samples(300))
    again = DecisionModel.from_json(model.to_json())
    assert again == model


def test_the_shipped_model_fits_the_features_and_decides_the_readme_question() -> None:
    model = model_beside(SHIPPED_KNOWLEDGE)
    assert model is not None and model.features == FEATURES
    assert 0 < model.cutoffs.suggest < model.cutoffs.answer < model.cutoffs.strict < 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not a decision model"),
        (json.dumps({"version": 99}), "unsupported version 99"),
        (json.dumps({"version": 1, "features": ["score"]}), "fitted on other features"),
    ],
)
def test_a_bad_model_file_is_named_and_the_score_rule_takes_over(
    tmp_path: Path, text: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "decision.json").write_text(text, encoding="utf-8")
    with pytest.raises(ModelError, match=message):
        DecisionModel.load(tmp_path / "decision.json")
    assert model_beside(tmp_path / "faq.yaml") is None
    assert message in caplog.text
