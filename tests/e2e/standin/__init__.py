"""A Discord stand-in for end-to-end tests: gateway + REST on 127.0.0.1.

Use it through the ``standin`` fixture and ``running_bot`` (``tests/e2e/conftest.py``)::

    async with running_bot(bot, standin):
        await standin.dispatch_message(content="!ask hotlines")        # MESSAGE_CREATE
        req = await standin.wait_for_request("POST /channels/{channel_id}/messages")
        inter = await standin.dispatch_command("ask", {"question": "x"})  # slash command
        callback = await inter.callback()                                  # type 4/5/9...

World: ``standin.world`` (bot, alice=owner, bob, carol=Moderator, guilds), ``standin.guild``,
``standin.channel`` (#general). Dispatch: ``dispatch``, ``dispatch_message``,
``dispatch_dm``, ``dispatch_command``, ``dispatch_autocomplete``, ``dispatch_component``,
``dispatch_modal_submit``, ``dispatch_message_command``, ``dispatch_interaction``,
``join_guild``. Recording: ``requests``, ``requests_to``, ``wait_for_request``,
``messages`` / ``messages_sent_to``, ``interaction_responses``, ``gateway.frames`` /
``wait_for_frame``, ``sessions`` / ``wait_for_sessions``, ``violations``. Faults:
``inject`` (429/5xx/403/delay), ``drop_connection``, ``invalidate_session``,
``request_reconnect``.
"""

from .faults import Fault
from .gateway import GatewayFrame, GatewaySession
from .interactions import FakeInteraction
from .recording import RecordedFile, RecordedRequest
from .server import StandIn
from .validate import SpecValidator, Violation
from .world import FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser, World

__all__ = [
    "FakeChannel",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "Fault",
    "GatewayFrame",
    "GatewaySession",
    "RecordedFile",
    "RecordedRequest",
    "SpecValidator",
    "StandIn",
    "Violation",
    "World",
]
