"""Settings, read once from the environment (and an optional ``.env`` file) into one object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from bot.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
KNOWLEDGE_PACKAGE = "bot.knowledge_data"  # pyproject.toml maps knowledge/ to this package
KNOWLEDGE_FILE = "faq.yaml"
DEFAULT_API_BASE = "https://discord.com"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


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
    data_dir: Path = Path("data")
    answer_channels: frozenset[int] = frozenset()
    moderator_role: str | None = None
    audit_channel: int | None = None
    guild_id: int | None = None
    log_level: str = "INFO"
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    max_question: int = 500
    user_rate: Rate = Rate(5, 30.0)
    channel_rate: Rate = Rate(20, 60.0)
    reload_interval: float = 1.0
    sync_commands: str = "auto"  # auto: only when the declared commands changed; always; never

    @property
    def heartbeat_path(self) -> Path:
        return self.data_dir / "heartbeat.json"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")
    ) -> Settings:
        """Build settings from ``env`` (default: os.environ plus ``.env`` where present).

        Raises ConfigError naming the setting when a value cannot be used.
        """
        values = dict(_read_dotenv(dotenv)) if dotenv is not None else {}
        values.update(os.environ if env is None else env)
        get = values.get
        return cls(
            token=_token(values),
            api_base=get("DISCORD_API_BASE") or DEFAULT_API_BASE,
            knowledge_path=Path(get("ELN_KNOWLEDGE") or bundled_knowledge()),
            data_dir=Path(get("ELN_DATA_DIR") or "data"),
            answer_channels=frozenset(_ids(get("ELN_ANSWER_CHANNELS"), "ELN_ANSWER_CHANNELS")),
            moderator_role=(get("ELN_MODERATOR_ROLE") or "").strip() or None,
            audit_channel=_opt_int(get("ELN_AUDIT_CHANNEL"), "ELN_AUDIT_CHANNEL"),
            guild_id=_opt_int(get("ELN_GUILD_ID"), "ELN_GUILD_ID"),
            log_level=_level(get("ELN_LOG_LEVEL")),
            shard_count=_opt_int(get("ELN_SHARD_COUNT"), "ELN_SHARD_COUNT"),
            shard_ids=tuple(_ids(get("ELN_SHARD_IDS"), "ELN_SHARD_IDS")) or None,
            max_question=_opt_int(get("ELN_MAX_QUESTION"), "ELN_MAX_QUESTION") or 500,
            user_rate=_rate(get("ELN_USER_RATE"), "ELN_USER_RATE", Rate(5, 30.0)),
            channel_rate=_rate(get("ELN_CHANNEL_RATE"), "ELN_CHANNEL_RATE", Rate(20, 60.0)),
            reload_interval=_opt_float(get("ELN_RELOAD_INTERVAL"), "ELN_RELOAD_INTERVAL") or 1.0,
            sync_commands=_choice(
                get("ELN_SYNC_COMMANDS"), "ELN_SYNC_COMMANDS", ("auto", "always", "never")
            ),
        )


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # noqa: PLC0415 - only needed when a .env exists

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _token(values: Mapping[str, str]) -> str | None:
    """The token from DISCORD_TOKEN, or from the file DISCORD_TOKEN_FILE names (Docker secrets)."""
    token = (values.get("DISCORD_TOKEN") or "").strip()
    source = "DISCORD_TOKEN"
    path = values.get("DISCORD_TOKEN_FILE")
    if not token and path:
        source = "DISCORD_TOKEN_FILE"
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"DISCORD_TOKEN_FILE: cannot read {path} ({exc.strerror})") from None
    if any(c.isspace() or not c.isprintable() for c in token):
        raise ConfigError(
            f"{source}: the token contains spaces, line breaks or control "
            "characters; copy it again from the Developer Portal"
        )
    return token or None


def _opt_int(raw: str | None, name: str) -> int | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative")
    return value


def _opt_float(raw: str | None, name: str) -> float | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive")
    return value


def _ids(raw: str | None, name: str) -> list[int]:
    if not raw:
        return []
    parts = [p for p in raw.replace(";", ",").replace(" ", ",").split(",") if p]
    return [v for p in parts if (v := _opt_int(p, name)) is not None]


def _level(raw: str | None) -> str:
    level = (raw or "INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"ELN_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def _rate(raw: str | None, name: str, default: Rate) -> Rate:
    """Parse ``COUNT/SECONDS`` such as ``5/30``."""
    if not raw:
        return default
    try:
        count, per = raw.split("/", 1)
        rate = Rate(int(count), float(per))
    except ValueError:
        raise ConfigError(f"{name} must look like 5/30 (count/seconds), got {raw!r}") from None
    if rate.count < 1 or rate.per <= 0:
        raise ConfigError(f"{name} must allow at least 1 event per positive number of seconds")
    return rate


def _choice(raw: str | None, name: str, options: tuple[str, ...]) -> str:
    value = (raw or options[0]).strip().lower()
    if value not in options:
        raise ConfigError(f"{name} must be one of {', '.join(options)}, got {raw!r}")
    return value
