"""Sliding-window limits: allow up to the rate, then say how long to wait."""

from __future__ import annotations

from bot.config import Rate
from bot.discord.ratelimit import SlidingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_allows_up_to_the_rate_then_reports_the_wait() -> None:
    clock = Clock()
    window = SlidingWindow(Rate(2, 10.0), clock)
    assert window.hit("u") == 0 and window.hit("u") == 0
    clock.now = 4.0
    assert window.hit("u") == 6.0
    clock.now = 10.0
    assert window.hit("u") == 0


def test_keys_are_independent() -> None:
    window = SlidingWindow(Rate(1, 60.0), Clock())
    assert window.hit("a") == 0
    assert window.hit("b") == 0
    assert window.hit("a") > 0


def test_memory_stays_bounded() -> None:
    clock = Clock()
    window = SlidingWindow(Rate(1, 1.0), clock, max_keys=100)
    for i in range(1_000):
        clock.now = i * 0.01
        window.hit(i)
    assert len(window._hits) <= 100
