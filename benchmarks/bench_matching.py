"""Matcher speed and accuracy, side by side with the naive rapidfuzz baseline, in one run.

    python benchmarks/bench_matching.py            # full run (about a minute)
    python benchmarks/bench_matching.py --quick    # smaller synthetic file

Baseline: ``rapidfuzz.process.extractOne(question, all_phrasings)``, the first thing one
would write. Both run pinned to one core; the table reports medians and p99 per query,
index build times, and accuracy on the dev set. Absolute times on shared machines are
noisy; the ratio between the two columns is what to read.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import string
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rapidfuzz import process

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from machine import describe  # noqa: E402

from bot.core.decision import model_beside  # noqa: E402
from bot.core.evaluation import Proportion, evaluate, load_labelled  # noqa: E402
from bot.core.knowledge import Entry, Knowledge, Source, load  # noqa: E402
from bot.core.matching import Matcher  # noqa: E402

DEV_SET = REPO / "tests" / "data" / "dev_set.yaml"
KNOWLEDGE = REPO / "knowledge" / "faq.yaml"
EVAL_SETS = (
    ("dev set (fitted on)", DEV_SET),
    ("train set (fitted on)", REPO / "tests" / "data" / "train_set.yaml"),
    ("held-out set (never fitted on)", REPO / "tests" / "data" / "holdout_set.yaml"),
    ("final set (never tuned on)", REPO / "benchmarks" / "final_set.yaml"),
    ("blind set A (written blind, never tuned on)", REPO / "benchmarks" / "blind_a.yaml"),
    ("blind set B (written blind, never tuned on)", REPO / "benchmarks" / "blind_b.yaml"),
    ("blind set C (written blind, never tuned on)", REPO / "benchmarks" / "blind_c.yaml"),
)


def machine() -> str:
    return describe("pinned to 1 core")


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def timed(fn: Callable[[str], object], queries: Sequence[str], rounds: int) -> list[float]:
    """Per-query latencies in milliseconds over ``rounds`` passes."""
    out: list[float] = []
    for _ in range(rounds):
        for q in queries:
            start = time.perf_counter_ns()
            fn(q)
            out.append((time.perf_counter_ns() - start) / 1e6)
    return out


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else values[0]


def synthetic(knowledge: Knowledge, phrasings: int, seed: int = 7) -> Knowledge:
    """A knowledge of ``phrasings`` phrasings: real words plus invented ones, Zipf-distributed."""
    rng = random.Random(seed)
    real = sorted({w for e in knowledge.entries for p in e.phrasings for w in p.lower().split()})
    invented = {
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 10)))
        for _ in range(30_000)
    }
    words = real + sorted(invented)
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(words))]
    per_entry = 10
    entries = []
    for i in range(phrasings // per_entry):
        texts = [
            " ".join(rng.choices(words, weights, k=rng.randint(3, 9))) for _ in range(per_entry)
        ]
        entries.append(
            Entry(f"syn-{i}", texts[0], tuple(texts[1:]), "answer", (Source("s", "https://x"),))
        )
    return Knowledge(tuple(entries), knowledge.synonyms)


def typo(text: str, rng: random.Random) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(len(text) - 1)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def accuracy(answer: Callable[[str], str | None], labelled) -> tuple[float, float]:
    ins = sum(answer(q) in ids for q, ids in labelled.in_scope) / len(labelled.in_scope)
    outs = sum(answer(q) is None for q in labelled.out_of_scope) / len(labelled.out_of_scope)
    return ins, outs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 synthetic phrasings")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pin_one_core()
    knowledge, _ = load(REPO / "knowledge" / "faq.yaml")
    labelled = load_labelled(DEV_SET)
    queries = [q for q, _ in labelled.in_scope] + list(labelled.out_of_scope)
    rows: list[tuple[str, str, float, float, float]] = []

    model = model_beside(KNOWLEDGE)

    def measure(label: str, kn: Knowledge, qs: Sequence[str], rounds: int, naive_n: int) -> None:
        start = time.perf_counter()
        matcher = Matcher(kn, model=model)
        build = (time.perf_counter() - start) * 1e3
        start = time.perf_counter()
        choices = [p for e in kn.entries for p in e.phrasings]
        naive_build = (time.perf_counter() - start) * 1e3
        for q in qs[:20]:  # warm-up: first-call costs (imports, caches) are not per-query
            matcher.match(q)
            process.extractOne(q, choices)
        ours = timed(matcher.match, qs, rounds)
        old = timed(Matcher(kn).match, qs, rounds)
        naive = timed(lambda q: process.extractOne(q, choices), qs[:naive_n], 1)
        rows.append((label, "matcher, fitted decision", build, statistics.median(ours), p99(ours)))
        rows.append((label, "matcher, score thresholds", build, statistics.median(old), p99(old)))
        rows.append((label, "naive extractOne", naive_build, statistics.median(naive), p99(naive)))

    measure(
        f"shipped ({sum(len(e.phrasings) for e in knowledge.entries):,} phrasings)",
        knowledge,
        queries,
        args.rounds,
        len(queries),
    )
    size = 20_000 if args.quick else 100_000
    big = synthetic(knowledge, size)
    rng = random.Random(11)
    big_queries = [typo(rng.choice(e.phrasings), rng) for e in rng.sample(big.entries, 300)]
    measure(f"synthetic ({size:,} phrasings)", big, big_queries + queries[:200], 1, 60)

    choices = [(p, e.id) for e in knowledge.entries for p in e.phrasings]
    texts = [p for p, _ in choices]

    def naive_answer(q: str, cutoff: float) -> str | None:
        hit = process.extractOne(q, texts, score_cutoff=cutoff)
        return choices[hit[2]][1] if hit else None

    naive: list[tuple[str, Callable[[str], str | None]]] = [
        ("naive extractOne", lambda q: naive_answer(q, 0)),
        ("naive extractOne, cutoff 80", lambda q: naive_answer(q, 80)),
    ]
    ours = [
        ("fitted decision (new)", Matcher(knowledge, model=model)),
        ("score thresholds (old)", Matcher(knowledge)),
    ]
    sets = [(name, load_labelled(path)) for name, path in EVAL_SETS if path.exists()]
    print(f"Machine: {machine()}\n")
    print("| knowledge | method | index build (ms) | median / query (ms) | p99 / query (ms) |")
    print("|---|---|---:|---:|---:|")
    for label, method, build, med, tail in rows:
        print(f"| {label} | {method} | {build:,.1f} | {med:.3f} | {tail:.3f} |")
    print(
        "\n| question set | method | in-scope answered right | right entry answered or first"
        " suggested | off-topic declined or small talk | ECE |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for set_name, questions in sets:
        size = f"{set_name} ({len(questions.in_scope)} + {len(questions.out_of_scope)})"
        for method, matcher in ours:
            r = evaluate(matcher, questions)
            outside = Proportion(r.declined + r.smalltalk_replied, r.out_of_scope + r.smalltalk)
            print(
                f"| {size} | {method} | {_rate(Proportion(r.correct, r.in_scope))} | "
                f"{_rate(Proportion(r.offered, r.in_scope))} | {_rate(outside)} | {r.ece:.1%} |"
            )
        for method, answer in naive:
            ins, outs = accuracy(answer, questions)
            print(f"| {size} | {method} | {ins:.1%} | – | {outs:.1%} | – |")
    return 0


def _rate(rate: Proportion) -> str:
    low, high = rate.interval()
    return f"{rate.value:.1%} [{low:.1%}–{high:.1%}]"


if __name__ == "__main__":
    raise SystemExit(main())
