"""The gateway state the heartbeat carries, and what ``eln-bot health`` says for each."""

from __future__ import annotations

import pytest

from bot.discord.client import QABot
from bot.discord.gateway import STATES, GatewayState, State
from bot.health import check_heartbeat


def test_the_states_are_exactly_these() -> None:
    assert STATES == ("starting", "connected", "reconnecting", "stopping", "failed")


def now(gateway: GatewayState) -> State:
    return gateway.state


def test_a_run_starts_connects_drops_and_comes_back() -> None:
    gateway = GatewayState()
    assert now(gateway) == "starting"
    gateway.dropped()  # a first connection lost before READY: still starting
    gateway.session_up()
    assert now(gateway) == "starting"  # the session is up, READY not yet handled
    gateway.ready()
    assert now(gateway) == "connected"
    gateway.dropped()
    assert now(gateway) == "reconnecting"
    gateway.session_up()  # re-identified: the new session counts as connected
    assert now(gateway) == "connected"
    gateway.dropped()
    gateway.ready()  # resumed
    assert now(gateway) == "connected"


def test_stopping_is_final_but_a_failure_wins() -> None:
    gateway = GatewayState()
    gateway.ready()
    gateway.stopping()
    for event in (gateway.dropped, gateway.session_up, gateway.ready):
        event()
        assert now(gateway) == "stopping"
    gateway.failed()  # discord.py closed the client itself, then raised why
    assert now(gateway) == "failed"
    gateway.stopping()
    gateway.ready()
    assert now(gateway) == "failed"


async def test_the_first_session_meets_the_start_up_deadline() -> None:
    gateway = GatewayState()
    assert not gateway.reached.is_set()
    gateway.session_up()
    assert gateway.reached.is_set()


@pytest.mark.parametrize("state", STATES)
async def test_health_reports_each_state(bot: QABot, state: State) -> None:
    bot.gateway.state = state
    await bot.heartbeat.beat()
    healthy, reason = check_heartbeat(bot.settings.heartbeat_path, max_age=60)
    assert healthy is (state == "connected")
    if healthy:
        assert reason.startswith("healthy: gateway connected, last seen ")
        assert reason.endswith(" 0 guild(s)")
    else:
        assert reason.startswith(f"unhealthy: gateway {state}: ")


async def test_stopping_the_heartbeat_writes_the_state_at_that_moment(bot: QABot) -> None:
    bot.heartbeat.start()
    await bot.heartbeat.beat()
    bot.gateway.stopping()
    await bot.heartbeat.stop()
    _, reason = check_heartbeat(bot.settings.heartbeat_path, max_age=60)
    assert reason.startswith("unhealthy: gateway stopping")
