"""Answer, suggest or decline: a small logistic model over what the matcher saw.

One score against a hand-set threshold declined long, chatty questions whose content
words matched, and answered confidently from a sibling entry. The model weighs several
signals instead (score, margin, how much of the question the knowledge explains, rare
words, names, clauses …) and gives a probability that the top candidate is right. That
probability is the confidence users see. Every feature is a share, a score on 0–1 or a
log count, so a moderator's edit or a grown knowledge file does not invalidate it.

Pure Python (no numpy): a few hundred labelled questions and 16 features fit in
milliseconds with Newton's method.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.errors import BotError

FEATURES = (
    "score",  # top candidate's score, 0-1
    "margin",  # top minus runner-up, 0-1
    "second",  # runner-up's score, 0-1
    "content_words",  # log(1 + words that carry weight)
    "known_share",  # share of the question's weight the knowledge knows at all
    "explained",  # share of the question's weight found in the top entry
    "rare_hit",  # the rarest word matched in the top entry, 0-1 (1 = unique to it)
    "unique_hit",  # a matched word occurs in no other entry
    "exact",  # the question is one of the entry's phrasings
    "item",  # an explicit list position ("action 4") picked the entry
    "synonym",  # a synonym group (a name, an abbreviation) matched
    "clause",  # the best clause's own score, 0-1
    "clause_gain",  # how much better the best clause scored than the whole message
    "typo_share",  # share of the matched weight read through typo correction
    "length",  # log(1 + words in the message)
    "related_second",  # the runner-up is a sibling the top entry links to
)
MODEL_VERSION = 1
MODEL_NAME = "decision.json"  # shipped beside the knowledge file it was fitted for
log = logging.getLogger(__name__)


class ModelError(BotError):
    """A decision-model file that cannot be used."""


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Probabilities at which the bot answers, suggests, or answers unprompted."""

    answer: float = 0.5
    suggest: float = 0.15
    strict: float = 0.75  # answer channels, where the bot speaks without being asked


@dataclass(frozen=True)
class DecisionModel:
    """Standardise, weigh, squash: p = 1 / (1 + exp(-(w · z + b)))."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    cutoffs: Cutoffs = Cutoffs()
    features: tuple[str, ...] = FEATURES
    report: dict[str, object] = field(default_factory=dict, compare=False)

    def probability(self, x: Sequence[float]) -> float:
        z = sum(
            w * (v - m) / s
            for w, v, m, s in zip(self.weights, x, self.mean, self.scale, strict=True)
        )
        return _sigmoid(z + self.bias)

    # --- the file shipped with the knowledge -------------------------------------------

    def to_json(self) -> str:
        data = {
            "version": MODEL_VERSION,
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "weights": list(self.weights),
            "bias": self.bias,
            "cutoffs": asdict(self.cutoffs),
            "report": self.report,
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = "decision model") -> DecisionModel:
        try:
            data = json.loads(text)
            if data.get("version") != MODEL_VERSION:
                raise ModelError(f"{where}: unsupported version {data.get('version')!r}")
            if tuple(data["features"]) != FEATURES:
                raise ModelError(f"{where}: fitted on other features; run `eln-bot calibrate`")
            model = cls(
                mean=_floats(data["mean"]),
                scale=_floats(data["scale"]),
                weights=_floats(data["weights"]),
                bias=float(data["bias"]),
                cutoffs=Cutoffs(**{k: float(v) for k, v in data["cutoffs"].items()}),
                report=dict(data.get("report", {})),
            )
        except ModelError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"{where}: not a decision model ({exc})") from None
        sizes = {len(model.mean), len(model.scale), len(model.weights)}
        if sizes != {len(FEATURES)} or not all(s > 0 for s in model.scale):
            raise ModelError(f"{where}: coefficients do not fit the features")
        return model

    @classmethod
    def load(cls, path: Path) -> DecisionModel:
        try:
            return cls.from_json(path.read_text(encoding="utf-8"), str(path))
        except OSError as exc:
            raise ModelError(f"{path}: cannot read ({exc.strerror})") from None


def model_beside(knowledge_path: Path) -> DecisionModel | None:
    """The model shipped beside a knowledge file; None (the score rule) if there is none
    or it cannot be used, which is logged once: answering goes on either way."""
    path = knowledge_path.with_name(MODEL_NAME)
    if not path.exists():
        return None
    try:
        return DecisionModel.load(path)
    except ModelError as exc:
        log.warning("%s; deciding by score thresholds instead", exc)
        return None


# --- fitting -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    x: tuple[float, ...]
    right: bool  # the top candidate is a right answer
    in_scope: bool  # the question has a right answer at all


def fit(samples: Sequence[Sample], *, l2: float = 1.0) -> DecisionModel:
    """L2-regularised logistic regression by Newton's method, on standardised features."""
    if len({s.right for s in samples}) < 2:
        raise ModelError("need questions answered both right and wrong to fit a model")
    columns = list(zip(*(s.x for s in samples), strict=True))
    mean = tuple(sum(c) / len(c) for c in columns)
    scale = tuple(max(_std(c, m), 1e-6) for c, m in zip(columns, mean, strict=True))
    rows = [[(v - m) / s for v, m, s in zip(x.x, mean, scale, strict=True)] for x in samples]
    y = [1.0 if s.right else 0.0 for s in samples]
    beta = _newton(rows, y, l2)
    return DecisionModel(mean, scale, tuple(beta[:-1]), beta[-1])


def cross_validated(
    samples: Sequence[Sample], *, folds: int = 5, l2: float = 1.0, seed: int = 0
) -> list[float]:
    """Out-of-fold probabilities, in the order of ``samples``."""
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    out = [0.0] * len(samples)
    for f in range(folds):
        held = set(order[f::folds])
        model = fit([s for i, s in enumerate(samples) if i not in held], l2=l2)
        for i in held:
            out[i] = model.probability(samples[i].x)
    return out


def choose_cutoffs(samples: Sequence[Sample], probs: Sequence[float]) -> Cutoffs:
    """Cut-offs from out-of-fold probabilities: answer where balanced accuracy peaks;
    suggest low enough that the right entry is offered; strict where almost no off-topic
    question is answered."""
    grid = [i / 100 for i in range(5, 96)]
    inside = [(p, s.right) for p, s in zip(probs, samples, strict=True) if s.in_scope]
    outside = [p for p, s in zip(probs, samples, strict=True) if not s.in_scope]

    def balanced(t: float) -> float:
        right = sum(ok and p >= t for p, ok in inside) / max(len(inside), 1)
        declined = sum(p < t for p in outside) / max(len(outside), 1)
        return right + declined

    answer = max(grid, key=lambda t: (round(balanced(t), 6), -t))
    strict = next(
        (t for t in grid if t >= answer and sum(p >= t for p in outside) <= 0.01 * len(outside)),
        max(answer, 0.9),
    )
    suggest = min(0.2, answer / 2)
    return Cutoffs(answer=answer, suggest=suggest, strict=strict)


def calibrate(
    samples: Sequence[Sample], *, l2_grid: Sequence[float] = (0.3, 1.0, 3.0, 10.0)
) -> DecisionModel:
    """Pick the regulariser by cross-validated log loss, then the cut-offs, then refit."""
    best: tuple[float, float, list[float]] | None = None
    for l2 in l2_grid:
        probs = cross_validated(samples, l2=l2)
        loss = log_loss([s.right for s in samples], probs)
        if best is None or loss < best[0]:
            best = (loss, l2, probs)
    assert best is not None
    loss, l2, probs = best
    cutoffs = choose_cutoffs(samples, probs)
    model = fit(samples, l2=l2)
    outcomes = [s.right for s in samples]
    report: dict[str, object] = {
        "questions": len(samples),
        "in_scope": sum(s.in_scope for s in samples),
        "l2": l2,
        "cv_log_loss": round(loss, 4),
        "cv_ece": round(expected_calibration_error(outcomes, probs), 4),
    }
    return DecisionModel(model.mean, model.scale, model.weights, model.bias, cutoffs, report=report)


# --- calibration measures ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bin:
    low: float
    high: float
    count: int
    predicted: float  # mean probability in the bin
    observed: float  # share right in the bin


def reliability(outcomes: Sequence[bool], probs: Sequence[float], bins: int = 10) -> list[Bin]:
    """Predicted against observed accuracy, in equal-width probability bins."""
    out = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [
            (p, ok)
            for p, ok in zip(probs, outcomes, strict=True)
            if low <= p < high or (b == bins - 1 and p == 1.0)
        ]
        if members:
            predicted = sum(p for p, _ in members) / len(members)
            observed = sum(ok for _, ok in members) / len(members)
            out.append(Bin(low, high, len(members), predicted, observed))
    return out


def expected_calibration_error(outcomes: Sequence[bool], probs: Sequence[float]) -> float:
    total = len(probs) or 1
    return sum(
        b.count / total * abs(b.predicted - b.observed) for b in reliability(outcomes, probs)
    )


def log_loss(outcomes: Sequence[bool], probs: Sequence[float]) -> float:
    eps = 1e-9
    return -sum(
        math.log(max(p, eps)) if ok else math.log(max(1 - p, eps))
        for ok, p in zip(outcomes, probs, strict=True)
    ) / max(len(probs), 1)


# --- numerics ------------------------------------------------------------------------------


def _newton(rows: list[list[float]], y: list[float], l2: float, steps: int = 25) -> list[float]:
    d = len(rows[0]) + 1
    beta = [0.0] * d
    for _ in range(steps):
        grad = [0.0] * d
        hess = [[0.0] * d for _ in range(d)]
        for row, target in zip(rows, y, strict=True):
            x = [*row, 1.0]
            p = _sigmoid(sum(b * v for b, v in zip(beta, x, strict=True)))
            w = max(p * (1 - p), 1e-9)
            for i in range(d):
                grad[i] += (p - target) * x[i]
                for j in range(i, d):
                    hess[i][j] += w * x[i] * x[j]
        for i in range(d):
            for j in range(i):
                hess[i][j] = hess[j][i]
            if i < d - 1:  # the bias is not shrunk
                grad[i] += l2 * beta[i]
                hess[i][i] += l2
        step = _solve(hess, grad)
        beta = [b - s for b, s in zip(beta, step, strict=True)]
        if max(abs(s) for s in step) < 1e-8:
            break
    return beta


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the Hessian is small and well posed)."""
    n = len(b)
    m = [[*row, rhs] for row, rhs in zip(a, b, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            factor = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= factor * m[col][c]
    out = [0.0] * n
    for r in range(n - 1, -1, -1):
        out[r] = (m[r][n] - sum(m[r][c] * out[c] for c in range(r + 1, n))) / m[r][r]
    return out


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _std(values: Sequence[float], mean: float) -> float:
    return math.sqrt(sum((v - mean) ** 2 for v in values) / max(len(values), 1))


def _floats(values: object) -> tuple[float, ...]:
    if not isinstance(values, list):
        raise TypeError("expected a list of numbers")
    out = tuple(float(v) for v in values)
    if not all(math.isfinite(v) for v in out):
        raise ValueError("coefficients must be finite")
    return out
