"""Insights on each engine: grouping of declined questions, resolve, votes, stats, prune."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import NotFoundError
from bot.storage.usage import Asked, EntryVotes, Insights, normalise, similarity
from tests.conftest import Backend

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


NEW_START = [
    "What is New START?",
    "what's new start??",
    "<@123456> what is new start",
    "WHAT IS NEW START",
    "what is the new start treaty",
]


def test_near_duplicates_are_grouped_and_counted(insights: Insights) -> None:
    for n, text in enumerate(NEW_START):
        insights.record_unanswered(text, "#general", ["new-start", "open-skies"], 0.5, at(n))
    insights.record_unanswered("how many nukes does russia have", "#qa", ["eln"], 0.2, at(10))
    insights.record_unanswered("How many nukes does Russia have?", "#qa", [], 0.3, at(11))
    long = "is new start still in force after 2026 and what replaces it"
    insights.record_unanswered(long, "#qa", ["new-start"], 0.4, at(12))
    groups = insights.unanswered()
    assert [g.count for g in groups] == [5, 2, 1]
    first = groups[0]
    assert first.example == NEW_START[-1]  # the latest wording
    assert (first.first_seen, first.last_seen) == (at(0), at(4))
    assert first.closest[:2] == ("new-start", "open-skies")
    assert first.where == ("#general",)
    assert groups[1].best_score == pytest.approx(0.3)
    assert groups[2].example == long  # a different question on the same topic
    assert len({g.key for g in groups}) == 3
    assert insights.unanswered(limit=1) == groups[:1]


def test_similarity_is_length_aware() -> None:
    assert similarity(normalise("What is New START?"), normalise("whats new start")) >= 85
    long = normalise("what is new start and is it still in force after 2026 or not")
    assert similarity(normalise("new start"), long) < 85
    assert normalise("<@!42> Ça <#7> va <:wave:123>") == "ca va"


@pytest.mark.parametrize(
    ("first", "second", "alike"),
    [
        ("What is New START?", "what is the new start treaty", True),  # filler and an extra
        (
            "what is the european leadership netwrok",
            "what is the european leadership network",
            True,
        ),
        ("missle defence", "missile defense", True),  # typos
        ("<@42> who signed it?", "WHO SIGNED IT", True),
        ("how many nukes does russia have", "how many nukes does china have", False),
        ("what does the report say about china", "what does the report say about iran", False),
        ("what is the open skies treaty about", "what is the inf treaty about", False),
        ("what is article 4", "what is article 5", False),  # numbers only when equal
        ("who wrote the report", "who funded the report", False),
    ],
)
def test_questions_are_alike_by_their_topic_words(first: str, second: str, alike: bool) -> None:
    score = similarity(normalise(first), normalise(second))
    assert (score >= 85) is alike, score
    assert score == similarity(normalise(second), normalise(first))


def test_ties_are_ordered_by_most_recent(insights: Insights) -> None:
    insights.record_unanswered("alpha question here", "x", [], 0.1, at(0))
    insights.record_unanswered("totally different thing", "x", [], 0.1, at(5))
    assert [g.example for g in insights.unanswered()] == [
        "totally different thing",
        "alpha question here",
    ]


def test_since_limits_the_questions_counted(insights: Insights) -> None:
    for n in range(4):
        insights.record_unanswered("what is new start", "x", [], 0.1, at(n * 60))
    (group,) = insights.unanswered(since=at(90))
    assert group.count == 2
    assert insights.unanswered(since=at(1000)) == []


def test_resolve_hides_a_group_until_it_is_asked_again(insights: Insights) -> None:
    for n, text in enumerate(NEW_START[:3]):
        insights.record_unanswered(text, "x", [], 0.1, at(n))
    insights.record_unanswered("who funds the eln", "x", [], 0.1, at(3))
    target = next(g for g in insights.unanswered() if g.count == 3)
    resolved = insights.resolve(target.key, at=at(10))
    assert resolved.count == 3
    assert [g.example for g in insights.unanswered()] == ["who funds the eln"]
    insights.record_unanswered("what is new start", "x", [], 0.1, at(20))
    assert sorted(g.count for g in insights.unanswered()) == [1, 1]
    with pytest.raises(NotFoundError, match="No unanswered group 'nope'"):
        insights.resolve("nope")


def test_a_later_vote_replaces_an_earlier_one(insights: Insights) -> None:
    insights.record_feedback("eln", False, user_id=1, at=at(0), message_id=100)
    insights.record_feedback("eln", True, user_id=1, at=at(1), message_id=100)  # changed mind
    insights.record_feedback("eln", False, user_id=2, at=at(2), message_id=100)
    insights.record_feedback("eln", True, user_id=3, at=at(3), message_id=100)
    insights.record_feedback("eln", False, user_id=1, at=at(4), message_id=101)  # one per person
    insights.record_feedback("hotline", False, user_id=1, at=at(5), message_id=100)
    stats = insights.stats()
    votes = {v.entry: (v.helpful, v.unhelpful) for v in stats.least_helpful}
    assert votes == {"eln": (1, 2), "hotline": (0, 1)}
    assert [v.entry for v in stats.least_helpful] == ["hotline", "eln"]  # 100% before 67%


def test_only_entries_with_unhelpful_votes_are_listed(insights: Insights) -> None:
    insights.record_feedback("eln", True, user_id=1, at=at(0))
    assert insights.stats().least_helpful == ()


def test_stats_over_a_period(insights: Insights) -> None:
    for n, entry in enumerate(["eln", "eln", "eln", "hotline", "new-start", "hotline"]):
        insights.record_answer(entry, "#qa", at(n * 60))
    insights.record_unanswered("what is the weather", "#qa", [], 0.1, at(30))
    insights.record_unanswered("tell me a joke", "#qa", [], 0.1, at(250))
    everything = insights.stats()
    assert (everything.questions, everything.answered, everything.declined) == (8, 6, 2)
    assert everything.decline_rate == pytest.approx(2 / 8)
    assert everything.most_asked[:2] == (("eln", 3), ("hotline", 2))
    recent = insights.stats(at(170))
    assert (recent.questions, recent.answered, recent.declined) == (4, 3, 1)
    assert recent.decline_rate == pytest.approx(1 / 4)
    assert recent.most_asked == (("hotline", 2), ("new-start", 1))
    assert insights.stats(at(10_000)).decline_rate == 0.0
    naive = insights.stats(at(170).replace(tzinfo=None))
    assert naive.questions == 4


async def test_concurrent_records_are_all_kept(insights: Insights) -> None:
    await asyncio.gather(
        *(asyncio.to_thread(insights.record_answer, "eln", "#qa", at(n)) for n in range(50))
    )
    assert insights.stats().most_asked == (("eln", 50),)


def test_the_same_question_is_grouped_per_server(insights: Insights) -> None:
    for guild in (1, 2, None, 1):
        insights.record_unanswered("what is new start", "#qa", [], 0.1, at(0), guild_id=guild)
    assert sorted(g.count for g in insights.unanswered()) == [1, 1, 2]


def test_a_batch_groups_its_own_new_questions(insights: Insights) -> None:
    batch = [
        Asked(at(n), "#qa", question=text, closest=("new-start",), score=0.2)
        for n, text in enumerate(NEW_START * 3)
    ]
    batch.insert(4, Asked(at(4.5), "#qa", entry="eln"))
    insights.record_many(batch)
    (group,) = insights.unanswered()
    assert group.count == len(NEW_START) * 3
    assert group.example == NEW_START[-1]
    assert insights.stats().answered == 1


def test_a_question_holding_nul_is_recorded_on_every_engine(insights: Insights) -> None:
    """PostgreSQL text cannot hold NUL; one such question must not lose its whole batch."""
    insights.record_many(
        [
            Asked(at(0), "#qa", question="what is\x00 new start", score=0.1),
            Asked(at(1), "#qa", entry="eln"),
        ]
    )
    (group,) = insights.unanswered()
    assert group.example == "what is\ufffd new start"
    assert insights.stats().questions == 2


RACERS = 6


def _race(databases: list[Insights], action: object) -> None:
    start = threading.Barrier(len(databases))

    def racer(n: int) -> None:
        start.wait()
        action(databases[n], n)  # type: ignore[operator]

    with ThreadPoolExecutor(len(databases)) as pool:
        list(pool.map(racer, range(len(databases))))  # re-raises the first failure


def test_processes_recording_the_same_new_question_at_once_make_one_group(
    engine: Backend,
) -> None:
    racers = [engine.insights(engine.open()) for _ in range(RACERS)]
    for racer in racers:
        racer.stats()  # connected before the start line
    for topic in ("open skies", "new start", "hotlines", "missile defence", "the inf treaty"):
        question = f"what is {topic} about"
        _race(
            racers,
            lambda ins, n, asked=question: ins.record_unanswered(asked, "#qa", [], 0.1, at(n)),
        )
    groups = racers[0].unanswered(limit=100)
    assert sorted(g.count for g in groups) == [RACERS] * 5


def test_votes_cast_at_once_by_several_processes_count_once(engine: Backend) -> None:
    """One user's vote on one answer, recorded by several processes at the same moment."""
    racers = [engine.insights(engine.open()) for _ in range(RACERS)]
    for racer in racers:
        racer.stats()  # connected before the start line
    _race(racers, lambda ins, n: ins.record_feedback("eln", False, 7, at(n), message_id=1))
    assert racers[0].stats().least_helpful == (EntryVotes("eln", helpful=0, unhelpful=1),)


def test_prune_deletes_only_what_is_past_retention(engine: Backend) -> None:
    insights = engine.insights(retention=timedelta(days=30))
    now = datetime(2025, 6, 1, tzinfo=UTC)
    old, kept = now - timedelta(days=30, milliseconds=1), now - timedelta(days=30)
    insights.record_answer("eln", "#qa", old)
    insights.record_answer("eln", "#qa", kept)
    insights.record_unanswered("who funds the eln", "#qa", [], 0.1, old)  # only old: goes
    insights.record_unanswered("what is new start", "#qa", [], 0.1, old)
    insights.record_unanswered("what is new start", "#qa", [], 0.1, kept)  # keeps its group
    insights.record_feedback("eln", False, 1, old, message_id=1)
    insights.record_feedback("eln", False, 2, kept, message_id=1)
    assert insights.prune(now) == 4
    assert insights.prune(now) == 0
    (group,) = insights.unanswered()
    assert (group.example, group.count, group.first_seen) == ("what is new start", 1, kept)
    stats = insights.stats()
    assert (stats.answered, stats.declined) == (1, 1)
    assert [v.total for v in stats.least_helpful] == [1]
    insights.record_unanswered("who funds the eln", "#qa", [], 0.1, now)  # a new group now
    assert sorted(g.count for g in insights.unanswered()) == [1, 1]


def test_stats_are_exact_for_any_window(insights: Insights) -> None:
    """Records at known millisecond times; every window counts exactly what is inside it."""
    rng = random.Random(2020)
    entries = ("eln", "new-start", "hotline", "open-skies")
    asked: list[tuple[datetime, str | None]] = []  # (when, entry or None for a decline)
    for _ in range(300):
        when = T0 + timedelta(milliseconds=rng.randrange(10 * 24 * 3600 * 1000))
        asked.append((when, rng.choice([*entries, None])))
    insights.record_many(
        [
            Asked(when, "#qa", entry=entry)
            if entry
            else Asked(when, "#qa", question=f"question {n}", score=0.1)
            for n, (when, entry) in enumerate(asked)
        ]
    )
    votes = [(T0 + timedelta(hours=n), n % 3 == 0, n) for n in range(40)]
    for when, helpful, user in votes:
        insights.record_feedback("eln", helpful, user, when, message_id=1)
    times = sorted(when for when, _ in asked)
    edges = [t + timedelta(milliseconds=d) for t in times[::15] for d in (-1, 0, 1)]
    for since in [None, *edges, T0 - timedelta(days=1), times[-1] + timedelta(milliseconds=1)]:
        inside = [e for when, e in asked if since is None or when >= since]
        answered = Counter(e for e in inside if e)
        stats = insights.stats(since, top=3)
        assert (stats.questions, stats.answered) == (len(inside), sum(answered.values()))
        assert stats.declined == inside.count(None)
        ranked = sorted(answered.items(), key=lambda item: (-item[1], item[0]))[:3]
        assert stats.most_asked == tuple(ranked)
        cast = [h for when, h, _ in votes if since is None or when >= since]
        unhelpful = cast.count(False)
        expected = (EntryVotes("eln", cast.count(True), unhelpful),) if unhelpful else ()
        assert stats.least_helpful == expected


def test_forgetting_a_person_leaves_none_of_their_words_in_a_group(engine: Backend) -> None:
    """The group a forgotten person founded is named after someone else's question now."""
    insights = engine.insights()
    insights.record_unanswered(
        "hypersonic missiles near kaliningrad, asks jane doe", "#qa", [], 0.1, at(0), user_id=1
    )
    insights.record_unanswered(
        "hypersonic missiles near kaliningrad?", "#qa", [], 0.1, at(1), user_id=2
    )
    assert len(insights.unanswered()) == 1  # one group, founded by person 1
    assert insights.forget(1) == 1
    with insights.database.read() as conn:
        stored = " ".join(
            str(v)
            for table in ("unanswered_groups", "group_tokens", "questions")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}")
            for v in row
        )
    assert "jane" not in stored and "doe" not in stored
    (group,) = insights.unanswered()
    assert group.example == "hypersonic missiles near kaliningrad?"
