"""End-to-end answer latency of the real bot against the loopback Discord stand-in.

    python benchmarks/bench_discord.py                  # 1,000 questions at 1, 4, 8 in flight
    python benchmarks/bench_discord.py --in-flight 8 --validate
    python benchmarks/bench_discord.py --baseline b8b96f7   # the same rounds, that code first

The stand-in (gateway + REST on 127.0.0.1; with ``--validate`` every request is also
checked against Discord's OpenAPI description, as in the e2e tests) runs in this process.
The bot runs as production runs it, in its own process: ``python -m bot run`` with the
shipped knowledge, configured only through the environment (``DISCORD_API_BASE`` pointing
at the stand-in, user and channel rate limits set high so they never bite).

Questions are @mentions from 24 users across 12 channels. In each round ``--in-flight`` of
them are outstanding at any time: the next is dispatched as soon as one is answered, so
the bot gets questions as fast as it takes them (from 2 in flight it is never idle; more
only adds queueing, which the latency then shows). Latency is measured from just
before the MESSAGE_CREATE is written to the bot's gateway socket to the moment the reply's
POST /channels/{id}/messages reaches the stand-in. A question with no reply within
``--timeout`` seconds is lost. The stand-in's own REST rate limit is raised too, so
discord.py never waits for a bucket to refill (that would measure Discord's limits, not
the bot).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import discord  # noqa: E402
from machine import describe  # noqa: E402

from tests.e2e.standin import (  # noqa: E402
    FakeChannel,
    FakeMember,
    FakeUser,
    RecordedRequest,
    StandIn,
)

# Questions people ask about the recommendations, in their own words: clear ones, short
# ones, typos, vague ones the bot should only suggest for, and off-topic ones it declines.
QUESTIONS = (
    "how many people signed the recommendations?",
    "who signed it?",
    "how many signatories were there",
    "what does it say about new start?",
    "should new start be extended",
    "what is new start anyway",
    "what are the seven urgent actions?",
    "list the urgent actions please",
    "what does action 1 say?",
    "recommendation 2",
    "what does the third action propose",
    "what does action 4 say about the founding act?",
    "recommendation 5 on conventional forces",
    "what about intermediate range missiles and missile defence?",
    "action 7",
    "what is the open skies treaty?",
    "why did the us leave open skies",
    "what was the INF treaty and why did it end?",
    "what is the CFE treaty",
    "what is the 1997 founding act",
    "what's the nato-russia council",
    "is the nato russia council still meeting?",
    "what is the vienna document",
    "incidents at sea agreement?",
    "what are confidence building measures",
    "what is the european leadership network",
    "who is the ELN",
    "who led the dialogue?",
    "who are rogov and gromyko",
    "what was the expert dialogue",
    "why did they write the recommendations",
    "who are the recommendations addressed to?",
    "what is the nato 2030 report",
    "who wrote nato 2030?",
    "what does nato 2030 say about china",
    "what is the dual track approach",
    "does the nato report talk about peaceful coexistence?",
    "do both reports want deconfliction with russia",
    "how do the two reports compare",
    "what does 'on nato's terms' mean here",
    "what is nato watch",
    "what did the news brief of 7 december 2020 say",
    "what happened to these proposals after 2020?",
    "what was dangerous brinkmanship",
    "where can I read the original documents?",
    "link to the full text?",
    "what is this bot",
    "how do i ask you something",
    "wat is new strat?",
    "opn skies treety",
    "who singed the recomendations",
    "what about russia?",
    "tell me about the treaty",
    "anything on europe?",
    "what is the kyoto protocol?",
    "who won the world cup in 2018",
    "how do I bake sourdough bread?",
    "what's the weather in brussels tomorrow",
    "can you recommend a good film",
    "is pluto a planet",
)
CHANNELS = 12
USERS = 24
TOKEN = "bench-token"


@dataclass
class Result:
    latency_ms: float | None  # None: lost
    kind: str  # answer / suggest / decline / other / lost / rejected


def machine() -> str:
    return describe(f"discord.py {discord.__version__}")


def kind_of(body: dict[str, Any]) -> str:
    embeds = body.get("embeds") or []
    if embeds and (embeds[0].get("footer") or {}).get("text", "").startswith("Confidence"):
        return "answer"
    if embeds and embeds[0].get("title") == "Did you mean…":
        return "suggest"
    if (body.get("content") or "").startswith("Sorry, I don't know"):
        return "decline"
    return "other"


class Replies:
    """Finds each question's reply among the recorded requests, in one pass per wake-up."""

    def __init__(self, standin: StandIn) -> None:
        self.standin = standin
        self.waiting: dict[str, asyncio.Future[RecordedRequest]] = {}
        self._cursor = 0
        self._stop = False

    def expect(self, message_id: str) -> asyncio.Future[RecordedRequest]:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[message_id] = fut
        return fut

    async def run(self) -> None:
        requests = self.standin.requests
        while not self._stop:
            await self.standin.wait_until(
                lambda: self._stop or any(r.done for r in requests[self._cursor :]),
                timeout=3600,
            )
            while self._cursor < len(requests) and requests[self._cursor].done:
                self._take(requests[self._cursor])
                self._cursor += 1

    def _take(self, rec: RecordedRequest) -> None:
        if rec.method != "POST" or rec.route != "/channels/{channel_id}/messages":
            return
        ref = (rec.json or {}).get("message_reference") or {}
        fut = self.waiting.pop(str(ref.get("message_id")), None)
        if fut is not None and not fut.done():
            fut.set_result(rec)

    def stop(self) -> None:
        self._stop = True
        self.standin.notify()


async def start_bot(standin: StandIn, data_dir: Path, code: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_BASE": standin.base_url,
        "ELN_KNOWLEDGE": str(REPO / "knowledge" / "faq.yaml"),
        "ELN_DATA_DIR": str(data_dir),
        "ELN_USER_RATE": "1000000/1",
        "ELN_CHANNEL_RATE": "1000000/1",
        "ELN_LOG_LEVEL": "WARNING",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=str(data_dir)
    )


async def ask(
    standin: StandIn,
    replies: Replies,
    channel: FakeChannel,
    user: FakeUser,
    question: str,
    *,
    timeout: float,  # noqa: ASYNC109
) -> Result:
    content = f"{standin.bot_user.mention} {question}"
    start = time.monotonic()
    # The message id is known before the frame is written, so the reply cannot be missed.
    msg = standin.world.message_payload(
        channel=channel, author=user, content=content, mentions=[standin.bot_user]
    )
    fut = replies.expect(msg["id"])
    standin.messages.add(msg)
    await standin.gateway.dispatch("MESSAGE_CREATE", msg, standin.gateway.session_for())
    try:
        rec = await asyncio.wait_for(fut, timeout)
    except TimeoutError:
        replies.waiting.pop(msg["id"], None)
        return Result(None, "lost")
    if not rec.ok:
        return Result(None, "rejected")
    return Result((rec.received_at - start) * 1e3, kind_of(rec.json))


async def bench(args: argparse.Namespace, code: Path) -> list[tuple[int, list[Result], float]]:
    standin = StandIn(rate_limit=(1_000_000, 1.0), spec_path=None if args.validate else False)
    await standin.start()
    guild = standin.guild
    for n in range(CHANNELS - len(guild.text_channels)):
        guild.channels.append(FakeChannel(standin.world.ids.next(), f"bench-{n}", 0, guild.id))
    users = [standin.world.add_user(f"user{n}") for n in range(USERS)]
    for user in users:
        guild.members[user.id] = FakeMember(user)
    channels = guild.text_channels
    replies = Replies(standin)
    collector = asyncio.create_task(replies.run())
    rounds: list[tuple[int, list[Result], float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-discord-") as tmp:
        bot = await start_bot(standin, Path(tmp), code)
        try:
            await standin.wait_for_sessions(1, timeout=60)
            for n in range(args.warmup):  # the bot may still be waiting for guilds
                question = QUESTIONS[n % len(QUESTIONS)]
                result = await ask(standin, replies, channels[0], users[0], question, timeout=15)
                if result.kind == "lost" and n == 0:
                    raise SystemExit("the bot did not answer the first warm-up question")
            rng = random.Random(args.seed)
            for in_flight in args.in_flight:
                plan = [rng.choice(QUESTIONS) for _ in range(args.questions)]
                results, elapsed = await run_round(
                    standin,
                    replies,
                    channels,
                    users,
                    plan,
                    in_flight=in_flight,
                    timeout=args.timeout,
                )
                rounds.append((in_flight, results, elapsed))
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(bot.wait(), 10)
            except TimeoutError:
                bot.kill()
                await bot.wait()
            replies.stop()
            await collector
            violations = standin.violations
            await standin.stop()
    if violations:
        print(f"warning: {len(violations)} request(s) broke Discord's spec", file=sys.stderr)
    return rounds


async def run_round(
    standin: StandIn,
    replies: Replies,
    channels: list[FakeChannel],
    users: list[FakeUser],
    plan: list[str],
    *,
    in_flight: int,
    timeout: float,  # noqa: ASYNC109
) -> tuple[list[Result], float]:
    """Ask every question in ``plan`` with ``in_flight`` outstanding; results in plan order."""
    queue = iter(enumerate(plan))
    results: list[Result] = [Result(None, "lost")] * len(plan)

    async def worker(slot: int) -> None:
        for i, question in queue:
            channel = channels[(slot + i) % len(channels)]
            user = users[i % len(users)]
            results[i] = await ask(standin, replies, channel, user, question, timeout=timeout)

    began = time.monotonic()
    await asyncio.gather(*(worker(s) for s in range(in_flight)))
    return results, time.monotonic() - began


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def report(rounds: list[tuple[int, list[Result], float]], args: argparse.Namespace) -> str:
    out = [
        "| In flight | Questions | Delivered | Lost | Median | p99 | Max | Throughput |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    kinds: Counter[str] = Counter()
    for in_flight, results, elapsed in rounds:
        latencies = [r.latency_ms for r in results if r.latency_ms is not None]
        kinds.update(r.kind for r in results)
        lost = len(results) - len(latencies)
        if latencies:
            median = f"{statistics.median(latencies):.1f} ms"
            p99 = f"{percentile(latencies, 0.99):.1f} ms"
            worst = f"{max(latencies):.1f} ms"
        else:
            median = p99 = worst = "-"
        out.append(
            f"| {in_flight} | {len(results):,} | {len(latencies):,} | {lost:,} | {median} "
            f"| {p99} | {worst} | {len(results) / elapsed:.0f}/s |"
        )
    mix = ", ".join(f"{kinds[k]} {k}" for k in ("answer", "suggest", "decline", "other"))
    validation = "on" if args.validate else "off"
    out += [
        "",
        f"Replies: {mix}. Stand-in spec validation: {validation}.",
        f"Machine: {machine()}.",
    ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=1000, help="per round")
    parser.add_argument(
        "--in-flight",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[1, 4, 8],
        help="questions outstanding, one round each (comma-separated; default 1,4,8)",
    )
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured questions first")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds before lost")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--validate",
        action="store_true",
        help="check every request against the OpenAPI spec, as the e2e tests do (this "
        "costs the stand-in, which shares this process with the dispatcher, ~10 ms a reply)",
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="first run the same rounds against the bot at this git revision (checked out "
        "in a temporary worktree, run with this environment's packages), for a side-by-side "
        "comparison in one run",
    )
    args = parser.parse_args()
    lost = 0
    runs = [(f"baseline {args.baseline}", args.baseline)] if args.baseline else []
    for label, ref in [*runs, ("this checkout", None)]:
        with checkout(ref) as code:
            rounds = asyncio.run(bench(args, code))
        print(f"## {label}\n\n{report(rounds, args)}\n")
        lost += sum(r.latency_ms is None for _, results, _ in rounds for r in results)
    return 1 if lost else 0


@contextlib.contextmanager
def checkout(ref: str | None) -> Iterator[Path]:
    """The code to run: this checkout, or ``ref`` in a throw-away git worktree."""
    if ref is None:
        yield REPO
        return
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        git = ["git", "-C", str(REPO)]
        subprocess.run([*git, "worktree", "add", "--detach", str(tree), ref], check=True)
        try:
            yield tree
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=True)


if __name__ == "__main__":
    raise SystemExit(main())
