"""Many servers, each with edits of its own: answer latency cold and warm, and memory.

    python benchmarks/bench_servers.py                  # 1,000 servers, SQLite
    python benchmarks/bench_servers.py --servers 200 --capacity 64

Every server gets one alias of its own (so none can share the global matcher). Then, for
a sample of servers, one question each with the server's matcher not yet built ("cold":
the database read, the merged knowledge validated, the matcher built) and then the same
question again ("warm"). Baseline, in the same run: the same questions against the
global knowledge (what a server without edits gets). Resident memory is read from
/proc/self/status after every server has been asked once, with the cache bounded at
``--capacity`` matchers.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.config import Settings, bundled_knowledge  # noqa: E402
from bot.core.decision import model_beside  # noqa: E402
from bot.storage.loading import open_services  # noqa: E402

QUESTIONS = (
    "what is new start",
    "who signed the recommendations",
    "what are the seven urgent actions",
    "what does the report say about hotlines",
    "is open skies still alive",
)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(name: str, values: list[float]) -> str:
    med, p99 = statistics.median(values), percentile(values, 0.99)
    return f"| {name} | {len(values)} | {med:.2f} ms | {p99:.2f} ms |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=100, help="servers timed cold and warm")
    parser.add_argument("--capacity", type=int, default=64, help="matchers kept in memory")
    args = parser.parse_args()
    rng = random.Random(2020)
    with tempfile.TemporaryDirectory(prefix="bench-servers-") as tmp:
        settings = Settings(knowledge_path=bundled_knowledge(), data_dir=Path(tmp))
        services = open_services(settings, model=model_beside(settings.knowledge_path))
        layers = services.layers
        layers.capacity = args.capacity
        began = time.perf_counter()
        for guild in range(1, args.servers + 1):
            store = layers.store_for(guild)
            store.alias("new-start", f"server {guild} asks about the treaty", "bench")
        layers.refresh()
        setup = time.perf_counter() - began
        baseline, cold, warm = [], [], []
        for guild in rng.sample(range(1, args.servers + 1), min(args.sample, args.servers)):
            question = rng.choice(QUESTIONS)
            start = time.perf_counter()
            layers.global_service.match(question)
            baseline.append((time.perf_counter() - start) * 1e3)
            start = time.perf_counter()
            layers.service_for(guild).match(question)
            cold.append((time.perf_counter() - start) * 1e3)
            start = time.perf_counter()
            layers.service_for(guild).match(question)
            warm.append((time.perf_counter() - start) * 1e3)
        for guild in range(1, args.servers + 1):
            layers.service_for(guild).match(QUESTIONS[0])
        memory = rss_mb()
    print(f"{args.servers:,} servers with edits, cache of {args.capacity} matchers")
    print(f"set-up (one alias per server): {setup:.1f} s\n")
    print("| question | n | median | p99 |\n|---|---:|---:|---:|")
    print(line("baseline: global knowledge (no edits)", baseline))
    print(line("server, matcher cold", cold))
    print(line("server, matcher warm", warm))
    print(f"\nResident memory after asking in every server: {memory:.0f} MB")
    machine = platform.processor() or platform.machine()
    print(f"Machine: {machine}, Python {platform.python_version()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
