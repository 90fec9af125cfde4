"""Settings, read once from the environment (and an optional ``.env`` file) into one object."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from bot.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
KNOWLEDGE_PACKAGE = "bot.knowledge_data"  # pyproject.toml maps knowledge/ to this package
KNOWLEDGE_FILE = "faq.yaml"
DEFAULT_API_BASE = "https://discord.com"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SYNC_CHOICES = ("auto", "always", "never")
DATABASE_FILE = "eln-bot.sqlite3"
WHOLE = re.compile(r"[0-9]+")  # int() would also take "1_000", "+5" and non-ASCII digits


def bundled_knowledge() -> Path:
    """The shipped knowledge file, wherever this copy of the code was installed from.

    An install (``pip install .``, ``--user``, a wheel, the Docker image) carries the
    top-level ``knowledge/`` folder as the package ``bot.knowledge_data``; a checkout run
    without installing has only the folder beside the package. A real path either way,
    because the bot watches the file for changes.
    """
    try:
        installed = resources.files(KNOWLEDGE_PACKAGE) / KNOWLEDGE_FILE
    except ModuleNotFoundError:
        installed = None
    if isinstance(installed, Path) and installed.is_file():
        return installed
    return PACKAGE_DIR.parent / "knowledge" / KNOWLEDGE_FILE


def default_data_dir() -> Path:
    """The platform's per-user data folder (``~/.local/share/eln-qa-bot`` on Linux).

    Not the current folder: a moderator running ``eln-bot kb ...`` from anywhere edits the
    same knowledge the bot serves. The Docker image sets ``ELN_DATA_DIR=/data``.
    """
    from platformdirs import user_data_path  # noqa: PLC0415 - only when not configured

    return user_data_path("eln-qa-bot", appauthor=False)


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``count`` events per ``per`` seconds."""

    count: int
    per: float


@dataclass(frozen=True)
class Settings:
    token: str | None = field(default=None, repr=False)
    api_base: str = DEFAULT_API_BASE
    knowledge_path: Path = field(default_factory=bundled_knowledge)
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    retention_days: int = 365
    answer_channels: frozenset[int] = frozenset()
    moderator_role: int | None = None  # a role id: names can be copied in any server
    home_guild: int | None = None  # the operator's server: its moderators edit globally
    audit_channel: int | None = None
    guild_id: int | None = None
    log_level: str = "INFO"
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    max_question: int = 500
    user_rate: Rate = Rate(10, 30.0)  # questions, commands and clicks together
    channel_rate: Rate = Rate(20, 60.0)
    reload_interval: float = 1.0
    sync_commands: str = "auto"  # auto: only when the declared commands changed; always; never

    @property
    def database_file(self) -> Path | None:
        """The SQLite file in the data directory; None when ``ELN_DATABASE_URL`` names one."""
        return None if self.database_url else self.data_dir / DATABASE_FILE

    @property
    def heartbeat_path(self) -> Path:
        return self.data_dir / "heartbeat.json"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")
    ) -> Settings:
        """Build settings from ``env`` (default: os.environ plus ``.env`` where present).

        Every value is checked here, once, so a typo stops start-up with one line naming the
        setting and where it was set, instead of surfacing later as odd behaviour (a ``nan``
        reload interval once left the gateway 41 s behind). Raises ConfigError.
        """
        raw = RawSettings.read(os.environ if env is None else env, dotenv)
        shard_count = _whole(raw, "ELN_SHARD_COUNT", minimum=1)
        return cls(
            token=_token(raw),
            api_base=_url(raw, "DISCORD_API_BASE") or DEFAULT_API_BASE,
            knowledge_path=Path(raw.get("ELN_KNOWLEDGE") or bundled_knowledge()),
            data_dir=Path(raw.get("ELN_DATA_DIR") or default_data_dir()),
            database_url=_database_url(raw),
            retention_days=_whole(raw, "ELN_RETENTION_DAYS", minimum=1) or 365,
            answer_channels=frozenset(_ids(raw, "ELN_ANSWER_CHANNELS", minimum=1)),
            moderator_role=_role(raw),
            home_guild=_whole(raw, "ELN_HOME_GUILD", minimum=1)
            or _whole(raw, "ELN_GUILD_ID", minimum=1),
            audit_channel=_whole(raw, "ELN_AUDIT_CHANNEL", minimum=1),
            guild_id=_whole(raw, "ELN_GUILD_ID", minimum=1),
            log_level=_choice(raw, "ELN_LOG_LEVEL", LOG_LEVELS, "INFO"),
            shard_count=shard_count,
            shard_ids=_shard_ids(raw, shard_count),
            max_question=_whole(raw, "ELN_MAX_QUESTION", minimum=1) or 500,
            user_rate=_rate(raw, "ELN_USER_RATE") or Rate(10, 30.0),
            channel_rate=_rate(raw, "ELN_CHANNEL_RATE") or Rate(20, 60.0),
            reload_interval=_seconds(raw, "ELN_RELOAD_INTERVAL") or 1.0,
            sync_commands=_choice(raw, "ELN_SYNC_COMMANDS", SYNC_CHOICES, "auto"),
        )


@dataclass(frozen=True, slots=True)
class RawSettings:
    """The settings as text, and where each came from, so an error can say what to fix."""

    values: Mapping[str, str]
    origins: Mapping[str, str]

    @classmethod
    def read(cls, env: Mapping[str, str], dotenv: Path | None) -> RawSettings:
        """``dotenv``'s values (if the file exists) overlaid by ``env``: the environment wins."""
        from_file = _read_dotenv(dotenv) if dotenv is not None else {}
        where = f"the .env file at {dotenv.absolute()}" if dotenv is not None else ""
        origins = dict.fromkeys(from_file, where) | dict.fromkeys(env, "the environment")
        return cls({**from_file, **env}, origins)

    def get(self, name: str) -> str | None:
        """The value with surrounding blanks removed; None when unset or blank (= default)."""
        return (self.values.get(name) or "").strip() or None

    def error(self, name: str, problem: str, *, show_value: bool = True) -> ConfigError:
        """One line: the setting, its value (unless secret), where it was set, what is wrong."""
        value = self.values.get(name, "")
        shown = f"={_clip(value)!r}" if show_value else ""
        where = self.origins.get(name, "the defaults")
        return ConfigError(f"{name}{shown} (set in {where}): {problem}")


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # noqa: PLC0415 - only needed when a .env exists

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _token(raw: RawSettings) -> str | None:
    """The token from DISCORD_TOKEN, or from the file DISCORD_TOKEN_FILE names (Docker secrets)."""
    token = raw.get("DISCORD_TOKEN") or ""
    source = "DISCORD_TOKEN"
    path = raw.get("DISCORD_TOKEN_FILE")
    if not token and path:
        source = "DISCORD_TOKEN_FILE"
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise raw.error(source, f"cannot read {path} ({exc.strerror})") from None
    if any(c.isspace() or not c.isprintable() for c in token):
        raise raw.error(
            source,
            "the token contains spaces, line breaks or control characters; "
            "copy it again from the Developer Portal",
            show_value=False,
        )
    return token or None


def _whole(raw: RawSettings, name: str, *, minimum: int) -> int | None:
    """A whole number in plain ASCII digits, at least ``minimum``; None when unset."""
    text = raw.get(name)
    if text is None:
        return None
    if not WHOLE.fullmatch(text):
        raise raw.error(name, f"must be a whole number, {minimum} or more")
    value = int(text)
    if value < minimum:
        raise raw.error(name, f"must be {minimum} or more")
    return value


def _seconds(raw: RawSettings, name: str) -> float | None:
    """A finite number of seconds above 0 (``nan`` and ``inf`` parse as floats: refuse them)."""
    text = raw.get(name)
    if text is None:
        return None
    value = _finite(text)
    if value is None or value <= 0:
        raise raw.error(name, "must be a number of seconds above 0, such as 1 or 0.5")
    return value


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _ids(raw: RawSettings, name: str, *, minimum: int) -> list[int]:
    """Whole numbers separated by commas, semicolons or spaces."""
    text = raw.get(name) or ""
    parts = [p for p in re.split(r"[,;\s]+", text) if p]
    if not all(WHOLE.fullmatch(p) and int(p) >= minimum for p in parts):
        raise raw.error(name, f"must be whole numbers ({minimum} or more) separated by commas")
    return [int(p) for p in parts]


def _shard_ids(raw: RawSettings, shard_count: int | None) -> tuple[int, ...] | None:
    """The shards this process runs: each below ELN_SHARD_COUNT, which must then be set."""
    ids = tuple(_ids(raw, "ELN_SHARD_IDS", minimum=0))
    if not ids:
        return None
    if shard_count is None:
        raise raw.error("ELN_SHARD_IDS", "needs ELN_SHARD_COUNT as well")
    if max(ids) >= shard_count:
        raise raw.error(
            "ELN_SHARD_IDS", f"shard ids run from 0 to {shard_count - 1} (ELN_SHARD_COUNT)"
        )
    return ids


def _rate(raw: RawSettings, name: str) -> Rate | None:
    """``COUNT/SECONDS`` such as ``5/30``: a whole count of 1 or more, finite seconds above 0."""
    text = raw.get(name)
    if text is None:
        return None
    count, _, per = text.partition("/")
    seconds = _finite(per.strip())
    if not WHOLE.fullmatch(count.strip()) or int(count) < 1 or seconds is None or seconds <= 0:
        raise raw.error(
            name, "must look like 5/30: a count of 1 or more per a number of seconds above 0"
        )
    return Rate(int(count), seconds)


def _choice(raw: RawSettings, name: str, options: tuple[str, ...], default: str) -> str:
    """One of ``options`` (any case), returned as spelt in ``options``."""
    text = raw.get(name)
    if text is None:
        return default
    for option in options:
        if option.lower() == text.lower():
            return option
    raise raw.error(name, f"must be one of {', '.join(options)}")


def _role(raw: RawSettings) -> int | None:
    """A role id: a name would let anyone who creates a role of that name in their own
    server pass as a moderator."""
    text = raw.get("ELN_MODERATOR_ROLE")
    if text is not None and not WHOLE.fullmatch(text):
        raise raw.error(
            "ELN_MODERATOR_ROLE",
            "must be the role's id (Server Settings > Roles > ... > Copy Role ID), not its "
            "name: anyone can create a role with that name in their own server",
        )
    return _whole(raw, "ELN_MODERATOR_ROLE", minimum=1)


def _database_url(raw: RawSettings) -> str | None:
    """``postgresql://user:password@host/db`` (or ``sqlite:///path``); the value is never shown."""
    text = raw.get("ELN_DATABASE_URL")
    if text is None:
        return None
    scheme = urlsplit(text).scheme.split("+")[0]
    if scheme not in ("postgresql", "postgres", "sqlite"):
        raise raw.error(
            "ELN_DATABASE_URL",
            "must start with postgresql:// (or sqlite:///, for a file elsewhere)",
            show_value=False,
        )
    return text


def _url(raw: RawSettings, name: str) -> str | None:
    """An http(s) URL with a host, such as ``https://discord.com``."""
    text = raw.get(name)
    if text is None:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise raw.error(name, "must be an http:// or https:// URL, such as https://discord.com")
    return text
