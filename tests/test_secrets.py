"""The Discord token never leaks: not in logs (even at DEBUG), not in a repr.

The real bot runs as a subprocess (``python -m bot run``) against the loopback Discord
stand-in, which is configured with a *different* token, so ``GET /users/@me`` answers 401
exactly as Discord does for a revoked token. The stand-in runs in the test's own event loop
while the subprocess runs. Everything the process prints is then searched for the token,
its secret segment, pieces of it, and its base64 forms.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from tests.conftest import REPO_ROOT
from tests.e2e.standin import StandIn

FAKE_TOKEN = "MTIz.fake-token-that-must-not-leak.XYZ"
SECRET_SEGMENT = FAKE_TOKEN.split(".")[1]
STANDIN_TOKEN = "the-only-token-the-stand-in-accepts"
EXIT_WITHIN = 15.0
REJECTED = "Discord rejected the token"


def leaked_forms(token: str) -> Iterator[str]:
    """Strings whose presence in output means the token (or enough of it) got out."""
    yield token
    secret = token.split(".")[1] if token.count(".") == 2 else token
    yield secret
    # Any 10-character slice of the secret: a partial print still leaks it.
    width = min(10, len(secret))
    for start in range(len(secret) - width + 1):
        yield secret[start : start + width]
    # Base64 of the token (as an Authorization header or a debug dump might hold it), at
    # each alignment; the first and last few characters depend on the neighbours, so the
    # stable middle is searched for.
    for prefix in ("", "x", "xx"):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            for text in (token, secret, f"Bot {token}"):
                encoded = encode((prefix + text).encode()).decode().rstrip("=")
                yield encoded[4:-4]


def assert_no_leak(output: str, token: str = FAKE_TOKEN) -> None:
    for form in leaked_forms(token):
        assert form not in output, f"the token leaked as {form!r}:\n{output}"


@pytest.fixture
async def rejecting_standin() -> AsyncIterator[StandIn]:
    server = StandIn(token=STANDIN_TOKEN)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def bot_env(tmp_path: Path, standin: StandIn, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "ELN_")) and k != "PYTHONPATH"
    }
    env.update(
        DISCORD_API_BASE=standin.base_url,
        ELN_DATA_DIR=str(tmp_path / "data"),
        ELN_LOG_LEVEL="DEBUG",
        ELN_SYNC_COMMANDS="never",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(REPO_ROOT),
    )
    env.update(extra)
    return env


async def run_bot(tmp_path: Path, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,  # no stray .env from the checkout
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(EXIT_WITHIN):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        pytest.fail(
            f"the bot did not exit within {EXIT_WITHIN:.0f} s of a rejected token\n"
            f"{out.decode(errors='replace')}{err.decode(errors='replace')}"
        )
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def assert_rejected(standin: StandIn, code: int, out: str, err: str) -> None:
    assert code != 0, f"exit code {code}\n{out}{err}"
    lines = [line for line in (out + err).splitlines() if REJECTED in line]
    assert lines, f"no '{REJECTED}' line:\n{out}{err}"
    assert "Traceback" not in out + err
    me = [r for r in standin.requests if r.method == "GET" and r.path.endswith("/users/@me")]
    assert me, "the bot never tried to log in at the stand-in"
    assert_no_leak(out + err)


async def test_rejected_token_from_env_is_never_printed(
    tmp_path: Path, rejecting_standin: StandIn
) -> None:
    env = bot_env(tmp_path, rejecting_standin, DISCORD_TOKEN=FAKE_TOKEN)
    code, out, err = await run_bot(tmp_path, env)
    assert_rejected(rejecting_standin, code, out, err)
    assert "DEBUG" in err, "ELN_LOG_LEVEL=DEBUG should make the run chatty"


async def test_rejected_token_from_file_is_never_printed(
    tmp_path: Path, rejecting_standin: StandIn
) -> None:
    secret = tmp_path / "discord_token"
    secret.write_text(FAKE_TOKEN + "\n", encoding="utf-8")
    secret.chmod(0o600)
    env = bot_env(tmp_path, rejecting_standin, DISCORD_TOKEN_FILE=str(secret))
    code, out, err = await run_bot(tmp_path, env)
    assert_rejected(rejecting_standin, code, out, err)


@pytest.mark.slow
async def test_accepted_token_is_not_printed_either(tmp_path: Path) -> None:
    """A login that works, then SIGTERM: the whole normal run at DEBUG stays clean."""
    server = StandIn(token=FAKE_TOKEN, heartbeat_interval=500)
    await server.start()
    lines: list[str] = []
    try:
        env = bot_env(tmp_path, server, DISCORD_TOKEN=FAKE_TOKEN)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(EXIT_WITHIN):
                while not any("connected as" in line for line in lines):
                    raw = await proc.stdout.readline()
                    assert raw, "the bot exited before connecting:\n" + "".join(lines)
                    lines.append(raw.decode(errors="replace"))
        except TimeoutError:
            proc.kill()
            await proc.wait()
            pytest.fail("the bot never connected:\n" + "".join(lines))
        proc.terminate()  # SIGTERM, as `docker stop` sends
        async with asyncio.timeout(EXIT_WITHIN):
            rest, _ = await proc.communicate()
    finally:
        await server.stop()
    text = "".join(lines) + rest.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "shutting down" in text
    assert_no_leak(text)
    identify = [f for f in server.gateway.frames if f.direction == "recv" and f.op == 2]
    assert identify, "the bot never sent IDENTIFY (so the token was never used on the gateway)"
    assert '"stopping"' in (tmp_path / "data" / "heartbeat.json").read_text(encoding="utf-8")


async def test_token_with_a_line_break_fails_with_one_clear_line(
    tmp_path: Path, rejecting_standin: StandIn
) -> None:
    secret = tmp_path / "discord_token"
    secret.write_text(FAKE_TOKEN.replace("-that", "\nthat") + "\n", encoding="utf-8")
    env = bot_env(tmp_path, rejecting_standin, DISCORD_TOKEN_FILE=str(secret))
    code, out, err = await run_bot(tmp_path, env)
    assert_no_leak(out + err)
    assert code != 0
    assert "Traceback" not in err, err


def test_settings_repr_hides_the_token(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text(FAKE_TOKEN, encoding="utf-8")
    for env in ({"DISCORD_TOKEN": FAKE_TOKEN}, {"DISCORD_TOKEN_FILE": str(secret)}):
        settings = Settings.from_env(env, dotenv=None)
        assert settings.token == FAKE_TOKEN
        for text in (repr(settings), str(settings), f"{settings}", f"{settings!r}"):
            assert_no_leak(text)
    assert_no_leak(repr(Settings(token=FAKE_TOKEN)))


def test_dotenv_token_is_read_and_hidden(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"DISCORD_TOKEN={FAKE_TOKEN}\n", encoding="utf-8")
    settings = Settings.from_env({}, dotenv=dotenv)
    assert settings.token == FAKE_TOKEN
    assert_no_leak(repr(settings))


def test_unreadable_token_file_names_the_path_not_the_contents(tmp_path: Path) -> None:
    from bot.errors import ConfigError  # noqa: PLC0415

    with pytest.raises(ConfigError) as info:
        Settings.from_env({"DISCORD_TOKEN_FILE": str(tmp_path / "missing")}, dotenv=None)
    assert "DISCORD_TOKEN_FILE" in str(info.value)


def test_log_filter_hides_the_token_in_messages_and_arguments(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.discord.bot import _TokenFilter  # noqa: PLC0415

    caplog.handler.addFilter(_TokenFilter(FAKE_TOKEN))
    log = logging.getLogger("tests.secrets")
    with caplog.at_level(logging.DEBUG):
        log.debug("Authorization: Bot %s", FAKE_TOKEN)
        log.info(f"token={FAKE_TOKEN}")
    assert_no_leak(caplog.text)
    assert caplog.text.count("[token hidden]") == 2
