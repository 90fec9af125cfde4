"""What the gateway connection is doing, as the heartbeat (and ``eln-bot health``) reports it.

The states, in the order a run passes through them:

``starting``      logging in and connecting; no READY yet
``connected``     READY (or RESUMED) received: the bot is answering
``reconnecting``  a connection dropped after the start; discord.py is resuming or
                  re-identifying
``stopping``      asked to stop (SIGTERM/SIGINT, ``docker stop``): a clean shutdown
``failed``        the run ended on an error: the token was rejected, the intents refused,
                  Discord unreachable, or a fatal gateway close

``stopping`` and ``failed`` are final, and ``failed`` wins: discord.py closes the client
itself before it raises why, and that close must not read as a requested stop.
"""

from __future__ import annotations

import asyncio
from typing import Literal, get_args

State = Literal["starting", "connected", "reconnecting", "stopping", "failed"]
STATES: tuple[State, ...] = get_args(State)
_FINAL: frozenset[State] = frozenset({"stopping", "failed"})


class GatewayState:
    """The current state, moved by the bot's gateway events."""

    def __init__(self) -> None:
        self.state: State = "starting"
        #: Set once the first gateway session is up: the start-up deadline is met.
        self.reached = asyncio.Event()

    def ready(self) -> None:
        """READY or RESUMED: serving again."""
        self._move("connected")

    def dropped(self) -> None:
        """A connection closed; discord.py reconnects on its own. A drop before the first
        READY is still part of starting."""
        if self.state == "connected":
            self.state = "reconnecting"

    def session_up(self) -> None:
        """A gateway session is up (discord.py's 'connect' event, on READY)."""
        self.reached.set()
        if self.state == "reconnecting":
            self._move("connected")

    def stopping(self) -> None:
        self._move("stopping")

    def failed(self) -> None:
        self.state = "failed"

    def _move(self, state: State) -> None:
        if self.state not in _FINAL:
            self.state = state
