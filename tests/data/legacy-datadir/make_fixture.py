"""Write the data directory of the previous release (b8b96f7) and what that release reported.

Run it with that release's code, never with this checkout's (it needs the file store)::

    git worktree add --detach /tmp/oldrel b8b96f7
    python3 -m venv /tmp/oldrel/.venv && /tmp/oldrel/.venv/bin/pip install -e /tmp/oldrel
    cd /tmp/oldrel && .venv/bin/python PATH/TO/tests/data/legacy-datadir/make_fixture.py

It drives the release's own KnowledgeStore and Insights as moderators and members would
(edits, aliases, an added entry, removes, undos, a redo, an import, declined questions,
votes, a resolved group), then runs that release's ``eln-bot`` to record what it printed
(``kb history``, ``kb unanswered``, ``kb stats``, ``ask --json``) and the merged knowledge,
into ``expected.json``. ``tests/storage/test_legacy.py`` checks the migration against it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.storage import KnowledgeStore
from bot.storage.changes import _activity
from bot.storage.usage import Insights

HERE = Path(__file__).resolve().parent
SHIPPED = HERE / "faq.yaml"
DATA = HERE / "data"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
GUILD, QA, GENERAL = 700000000000000001, 700000000000000011, 700000000000000012
ALICE, BOB, CAROL, DAVE, ERIN = (
    f"{name} ({700000000000001000 + n})"
    for n, name in enumerate(("alice", "bob", "carol", "dave", "erin"))
)
ADDED = {
    "id": "bot-feedback",
    "question": "How do I tell the moderators an answer is wrong?",
    "alternates": [
        "report a wrong answer",
        "the bot got it wrong",
        "how do I give feedback on an answer",
        "who fixes the answers",
        "correct the bot",
        "answer is outdated",
    ],
    "answer": "Press 👎 under the answer; moderators review every vote each week.",
    "sources": [{"title": "Server rules", "url": "https://example.org/rules"}],
    "tags": ["about"],
}
# Questions that name an edited entry word for word: the answer must survive the move.
QUESTIONS = [
    "is new start still alive",
    "How do I tell the moderators an answer is wrong?",
    "did russia leave open skies",
    "How many people signed the recommendations?",
    "report a wrong answer",
]


def edit_knowledge(store: KnowledgeStore) -> None:
    """Fourteen changes by five moderators, in the order a busy month might bring them."""
    store.alias("new-start", "is new start still alive", by=ALICE)  # 1
    store.edit(
        "signatories",
        {"answer": "145 former ministers, generals and diplomats from 20 countries signed."},
        by=ALICE,
    )  # 2
    store.add(ADDED, by=BOB)  # 3
    store.alias("bot-feedback", "how do I rate an answer", by=BOB)  # 4
    store.remove("news-brief", by=CAROL)  # 5
    store.undo(CAROL, 5)  # 6: news-brief is back
    store.undo(ALICE, 6)  # 7: redo, news-brief removed again
    store.edit("eln", {"passage": None, "tags": ["eln", "organisation"]}, by=DAVE)  # 8
    store.apply_import(store.plan_import(imported_file(store), "november.yaml"), by=DAVE)  # 9
    store.edit(
        "signatories",
        {"answer": "145 people from 20 countries signed them, most of them former officials."},
        by=ALICE,
    )  # 10
    store.undo(BOB, 4)  # 11: the alias on the added entry goes
    store.alias("open-skies-treaty", "open skies withdrawal 2020", by=ERIN)  # 12
    store.undo(ERIN)  # 13: the latest change in effect, 12
    store.alias("open-skies-treaty", "did russia leave open skies", by=ERIN)  # 14


def imported_file(store: KnowledgeStore) -> str:
    """The merged knowledge with one answer rewritten and one entry dropped, as exported."""
    doc = yaml.safe_load(store.export_yaml())
    entries = [e for e in doc["entries"] if e["id"] != "participants-op-ed"]
    for entry in entries:
        if entry["id"] == "nato-watch":
            entry["answer"] = "NATO Watch is an independent UK think tank; it ran the brief."
    doc["entries"] = entries
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def record_usage(insights: Insights) -> None:
    """Answers, declined questions (near-duplicates among them), votes and one resolved group."""
    at = iter(START + timedelta(hours=5 * n) for n in range(1000))
    qa = f"guild={GUILD} channel={QA}"
    general = f"guild={GUILD} channel={GENERAL}"
    direct = "guild=None channel=800000000000000001"  # a direct message
    for entry, count in (("new-start", 6), ("signatories", 4), ("eln", 3), ("bot-feedback", 1)):
        for n in range(count):
            insights.record_answer(entry, qa if n % 2 else general, at=next(at))
    insights.record_answer("open-skies-treaty", direct, at=next(at))
    insights.record_answer("open-skies-treaty", qa, at=next(at))
    declined = [
        ("what is the weather in moscow", qa, ["news-brief"], 21.0),
        ("What's the weather in Moscow?", general, ["news-brief"], 19.5),
        ("is nato going to expand into ukraine", qa, ["nato-2030-report", "since-2020"], 48.0),
        ("who won the 2022 world cup", general, ["reissue-2022"], 12.0),
        ("Is NATO going to expand into Ukraine??", qa, ["nato-2030-report"], 51.0),
        ("what is the weather in moscow today", qa, [], 18.0),
        ("can you tell me a joke about tanks", direct, [], 9.0),
        ("<@123456> what is the weather in moscow", general, ["news-brief"], 20.0),
        ("who won the world cup in 2022", qa, ["reissue-2022"], 13.0),
        ("is nato expanding into ukraine", general, ["nato-2030-report"], 47.5),
    ]
    for question, where, closest, score in declined:
        insights.record_unanswered(question, where, closest, score, at=next(at))
    ukraine = next(g for g in insights.unanswered() if "ukraine" in g.example.lower())
    insights.resolve(ukraine.key, at=next(at))
    insights.record_unanswered(
        "will ukraine join nato", qa, ["nato-2030-report"], 44.0, at=next(at)
    )  # after the resolve: the group shows again with this one question
    insights.record_unanswered("what does eln stand for lol", general, ["eln"], 62.0, at=next(at))
    votes = [
        ("new-start", True, 1001, 900001),
        ("new-start", False, 1002, 900001),
        ("signatories", True, 1003, 900002),
        ("new-start", False, 1001, 900001),  # 1001 changes their mind: this vote counts
        ("signatories", False, 1004, 900003),
        ("eln", True, 1001, None),
        ("eln", False, 1005, 900004),
        ("eln", False, 1005, 900004),  # the same vote twice counts once
    ]
    for entry, helpful, user, message in votes:
        insights.record_feedback(entry, helpful, user, at=next(at), message_id=message)


def reported(*argv: str) -> str:
    """What that release's ``eln-bot`` printed for ``argv`` over the fixture."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELN_", "DISCORD_"))}
    env.update(ELN_KNOWLEDGE=str(SHIPPED), ELN_DATA_DIR=str(DATA))
    result = subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise SystemExit(f"eln-bot {' '.join(argv)} failed: {result.stderr}")
    return result.stdout


def digest(document: Any) -> str:
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def expectations(store: KnowledgeStore) -> dict[str, Any]:
    merged = store.merged_document()
    changes = store.history(limit=1000)
    touched = sorted({eid for c in changes for eid in c.after["entries"]})
    entries = {e["id"]: e for e in merged["entries"]}
    active = _activity(list(reversed(changes)))
    return {
        "release": "b8b96f7",
        "merged_sha256": digest(merged),
        "merged_entry_ids": [e["id"] for e in merged["entries"]],
        "touched_entries": {eid: entries.get(eid) for eid in touched},
        "history": [
            {"id": c.id, "at": c.at, "by": c.by, "op": c.op, "summary": c.summary}
            for c in reversed(changes)
        ],
        "undone": sorted(i for i, in_effect in active.items() if not in_effect),
        "kb_history": reported("kb", "history", "--limit", "100"),
        "kb_unanswered": reported("kb", "unanswered", "--limit", "50"),
        "kb_stats": reported("kb", "stats", "--top", "10"),
        "ask": [json.loads(reported("ask", "--json", q)) for q in QUESTIONS],
    }


def main() -> None:
    shutil.rmtree(DATA, ignore_errors=True)
    shutil.copyfile(Path("knowledge/faq.yaml"), SHIPPED)
    store = KnowledgeStore(SHIPPED, DATA)
    edit_knowledge(store)
    record_usage(Insights(DATA))
    expected = expectations(store)
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {DATA} and expected.json ({len(expected['history'])} changes)")


if __name__ == "__main__":
    main()
