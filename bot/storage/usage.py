"""What users ask and how answers land: declined questions, answers given, helpful votes.

Everything is append-only JSONL in ``data_dir``, written under a cross-process lock with the
helpers the knowledge store uses too, from ``bot.storage.files`` (append without fsync: these
are statistics, and a busy server must not wait on the disk; atomic replace when compacting):

``questions.jsonl``  ``{"at", "kind": "answer", "entry", "where"}`` or
                     ``{"at", "kind": "unanswered", "question", "where", "closest", "score"}``
``feedback.jsonl``   ``{"at", "entry", "helpful", "user", "message"}``; the latest vote of a
                     user on an entry in a message counts
``resolved.jsonl``   ``{"at", "key", "norm"}``: a group of unanswered questions a moderator
                     handled; questions in it asked before ``at`` are no longer listed

Growth is bounded: when an append leaves a file larger than ``max_bytes``, the file is
compacted under the lock -- records older than ``retention`` go, superseded votes go, and if
it is still over half of ``max_bytes`` only the newest records filling that half stay. Old
history is what is given up; recent counts stay exact.

Statistics are for moderators, not for answering: a damaged line is skipped with a warning
rather than stopping the bot. Callers on the answering path should log and carry on if a
``record_*`` call raises (a full disk, say).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock
from rapidfuzz import fuzz, process

from bot.core.text import DISCORD_MARKUP, fold
from bot.errors import NotFoundError
from bot.storage.files import (
    append_line,
    hold,
    json_line,
    read_jsonl,
    remove_stale_temps,
    repair_tail,
    utc_stamp,
    write_atomic,
)

log = logging.getLogger(__name__)

QUESTIONS = "questions.jsonl"
FEEDBACK = "feedback.jsonl"
RESOLVED = "resolved.jsonl"
LOCK_NAME = ".insights.lock"
MAX_QUESTION = 1_000


@dataclass(frozen=True, slots=True)
class UnansweredGroup:
    """Near-duplicate questions the bot declined; ``key`` names the group for ``resolve``."""

    key: str
    example: str
    count: int
    first_seen: datetime
    last_seen: datetime
    closest: tuple[str, ...]
    best_score: float
    where: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EntryVotes:
    entry: str
    helpful: int
    unhelpful: int

    @property
    def total(self) -> int:
        return self.helpful + self.unhelpful


@dataclass(frozen=True, slots=True)
class Stats:
    since: datetime | None
    questions: int
    answered: int
    declined: int
    most_asked: tuple[tuple[str, int], ...]
    least_helpful: tuple[EntryVotes, ...]

    @property
    def decline_rate(self) -> float:
        """Declined questions over all questions (0 when there were none)."""
        return self.declined / self.questions if self.questions else 0.0


def normalise(question: str) -> str:
    """The form questions are compared in: no mentions or custom emoji, folded case/accents."""
    return fold(DISCORD_MARKUP.sub(" ", question))


def similarity(a: str, b: str) -> float:
    """How alike two normalised questions are, 0-100.

    token_set_ratio ignores word order and extra words, which suits chat questions, but it
    scores 100 whenever one text's words are a subset of the other's; between texts of very
    different length ("new start" against a long question mentioning it) the stricter
    token_sort_ratio is used instead.
    """
    short, long = sorted((len(a.split()), len(b.split())))
    if short * 2 < long:
        return fuzz.token_sort_ratio(a, b)
    return fuzz.token_set_ratio(a, b)


@dataclass
class _Group:
    norm: str
    members: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return hashlib.sha1(self.norm.encode("utf-8")).hexdigest()[:10]

    def freeze(self) -> UnansweredGroup:
        times = [m["_at"] for m in self.members]
        closest = Counter(i for m in self.members for i in m.get("closest", []))
        where = dict.fromkeys(str(m.get("where", "")) for m in self.members)
        return UnansweredGroup(
            key=self.key,
            example=self.members[-1]["question"],
            count=len(self.members),
            first_seen=min(times),
            last_seen=max(times),
            closest=tuple(i for i, _ in closest.most_common(3)),
            best_score=max(float(m.get("score", 0.0)) for m in self.members),
            where=tuple(w for w in where if w),
        )


class Insights:
    """Records and summarises questions, answers and feedback, shared by threads and processes.

    Methods are synchronous (file lock, disk I/O): call them via ``asyncio.to_thread``.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        threshold: float = 85.0,
        max_bytes: int = 4_000_000,
        retention: timedelta = timedelta(days=365),
        lock_timeout: float = 10.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.threshold = threshold
        self.max_bytes = max_bytes
        self.retention = retention
        self._lock = FileLock(self.data_dir / LOCK_NAME, timeout=lock_timeout)

    # recording --------------------------------------------------------------------------

    def record_unanswered(
        self,
        question: str,
        where: str,
        closest: list[str],
        score: float,
        at: datetime | None = None,
    ) -> None:
        """Remember a question the bot declined, with the entries that came closest."""
        record = {
            "at": _stamp(at),
            "kind": "unanswered",
            "question": question[:MAX_QUESTION],
            "where": where,
            "closest": list(closest),
            "score": float(score),
        }
        self._append(QUESTIONS, record)

    def record_answer(self, entry_id: str, where: str, at: datetime | None = None) -> None:
        self._append(
            QUESTIONS, {"at": _stamp(at), "kind": "answer", "entry": entry_id, "where": where}
        )

    def record_feedback(
        self,
        entry_id: str,
        helpful: bool,
        user_id: int,
        at: datetime | None = None,
        *,
        message_id: int | None = None,
    ) -> None:
        """A vote; a later vote by the same user on the same entry and message replaces it."""
        record = {
            "at": _stamp(at),
            "entry": entry_id,
            "helpful": bool(helpful),
            "user": int(user_id),
            "message": message_id,
        }
        self._append(FEEDBACK, record)

    # reading ----------------------------------------------------------------------------

    def unanswered(self, limit: int = 10, since: datetime | None = None) -> list[UnansweredGroup]:
        """Groups of similar declined questions, most frequent (then most recent) first."""
        with hold(self._lock):
            groups = self._groups(since)
        ranked = sorted(
            (g.freeze() for g in groups), key=lambda g: (-g.count, -g.last_seen.timestamp())
        )
        return ranked[: max(limit, 0)]

    def resolve(self, group_key: str, at: datetime | None = None) -> UnansweredGroup:
        """Mark a group handled: its questions so far stop being listed; new ones reappear."""
        with hold(self._lock):
            group = next((g for g in self._groups(None) if g.key == group_key), None)
            if group is None:
                raise NotFoundError(f"No unanswered group '{group_key}'.")
            self._append_locked(RESOLVED, {"at": _stamp(at), "key": group.key, "norm": group.norm})
        return group.freeze()

    def stats(self, since: datetime | None = None, *, top: int = 5) -> Stats:
        """Questions, the decline rate, the most asked and the least helpful entries."""
        start = _aware(since)
        with hold(self._lock):
            questions = [r for r in self._read(QUESTIONS) if start is None or r["_at"] >= start]
            votes = [v for v in self._votes() if start is None or v["_at"] >= start]
        answered = Counter(r.get("entry") for r in questions if r.get("kind") == "answer")
        declined = sum(1 for r in questions if r.get("kind") == "unanswered")
        return Stats(
            since=start,
            questions=answered.total() + declined,
            answered=answered.total(),
            declined=declined,
            most_asked=tuple((str(e), n) for e, n in answered.most_common(top)),
            least_helpful=_least_helpful(votes, top),
        )

    # internals --------------------------------------------------------------------------

    def _append(self, name: str, record: dict[str, Any]) -> None:
        with hold(self._lock):
            self._append_locked(name, record)

    def _append_locked(self, name: str, record: dict[str, Any]) -> None:
        path = self.data_dir / name
        repair_tail(path)
        append_line(path, record, durable=False)
        if path.stat().st_size > self.max_bytes:
            self._compact(path)

    def _compact(self, path: Path) -> None:
        """Shrink a file: drop expired and superseded records, then the oldest ones."""
        cutoff = datetime.now(UTC) - self.retention
        records = [r for r in self._parse(path) if r["_at"] >= cutoff]
        if path.name == FEEDBACK:
            records = _latest_votes(records)
        lines = [_line(r) for r in records]
        budget, kept = self.max_bytes // 2, 0
        start = len(lines)
        while start > 0 and kept + len(lines[start - 1]) <= budget:
            start -= 1
            kept += len(lines[start])
        remove_stale_temps(path)
        write_atomic(path, b"".join(lines[start:]))
        log.info("compacted %s: kept %d of %d records", path.name, len(lines) - start, len(lines))

    def _read(self, name: str) -> list[dict[str, Any]]:
        return self._parse(self.data_dir / name)

    def _parse(self, path: Path) -> list[dict[str, Any]]:
        """Records with a usable timestamp (as ``_at``), in file order."""
        out: list[dict[str, Any]] = []
        for record in read_jsonl(path, strict=False).records:
            at = _parse_time(record.get("at"))
            if at is not None:
                out.append({**record, "_at": at})
        return out

    def _votes(self) -> list[dict[str, Any]]:
        return _latest_votes(self._read(FEEDBACK))

    def _groups(self, since: datetime | None) -> list[_Group]:
        """Declined questions (not yet resolved) grouped greedily in the order asked."""
        start = _aware(since)
        resolved = [(r["_at"], str(r.get("norm", ""))) for r in self._read(RESOLVED)]
        groups: list[_Group] = []
        for record in sorted(self._declined(), key=lambda r: r["_at"]):
            if start is not None and record["_at"] < start:
                continue
            norm = normalise(record["question"])
            if any(record["_at"] <= at and self._alike(norm, n) for at, n in resolved):
                continue
            index = self._best(norm, [g.norm for g in groups])
            if index is None:
                groups.append(_Group(norm))
                index = len(groups) - 1
            groups[index].members.append(record)
        return groups

    def _declined(self) -> Iterable[dict[str, Any]]:
        for record in self._read(QUESTIONS):
            if record.get("kind") == "unanswered" and isinstance(record.get("question"), str):
                yield record

    def _alike(self, a: str, b: str) -> bool:
        return a == b or similarity(a, b) >= self.threshold

    def _best(self, norm: str, reps: list[str]) -> int | None:
        """The most similar group: a fast C pre-filter, then the length-aware check."""
        if norm in reps:
            return reps.index(norm)
        candidates = process.extract(
            norm, reps, scorer=fuzz.token_set_ratio, score_cutoff=self.threshold, limit=None
        )
        return next((i for _, _, i in candidates if self._alike(norm, reps[i])), None)


def _least_helpful(votes: list[dict[str, Any]], top: int) -> tuple[EntryVotes, ...]:
    up: Counter[str] = Counter()
    down: Counter[str] = Counter()
    for vote in votes:
        (up if vote.get("helpful") else down)[str(vote.get("entry"))] += 1
    rows = [EntryVotes(e, up[e], down[e]) for e in down]
    rows.sort(key=lambda v: (-v.unhelpful / v.total, -v.unhelpful, v.entry))
    return tuple(rows[:top])


def _latest_votes(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One vote per (entry, user, message): the latest, by time then by position."""
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: r["_at"]):  # stable: ties keep file order
        key = (record.get("entry"), record.get("user"), record.get("message"))
        latest.pop(key, None)
        latest[key] = record
    return list(latest.values())


def _line(record: dict[str, Any]) -> bytes:
    return json_line({k: v for k, v in record.items() if k != "_at"})


def _aware(moment: datetime | None) -> datetime | None:
    """Naive datetimes are taken as UTC, so callers cannot compare naive with aware."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _stamp(at: datetime | None) -> str:
    return utc_stamp(_aware(at) or datetime.now(UTC))


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        return None
