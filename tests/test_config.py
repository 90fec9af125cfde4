"""Settings come from the environment once; bad values are one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Rate, RawSettings, Settings
from bot.errors import ConfigError
from tests.conftest import REPO_ROOT


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({}, dotenv=None)
    assert settings.token is None
    assert settings.knowledge_path.name == "faq.yaml"
    # the platform's user data folder, never the current folder
    assert settings.data_dir.is_absolute() and settings.data_dir.name == "eln-qa-bot"
    assert settings.database_file == settings.data_dir / "eln-bot.sqlite3"
    assert settings.answer_channels == frozenset()


def test_every_setting_is_read(tmp_path) -> None:
    settings = Settings.from_env(
        {
            "DISCORD_TOKEN": "abc",
            "DISCORD_API_BASE": "http://127.0.0.1:9",
            "ELN_KNOWLEDGE": "k.yaml",
            "ELN_DATA_DIR": str(tmp_path),
            "ELN_ANSWER_CHANNELS": "1, 2;3",
            "ELN_MODERATOR_ROLE": "6",
            "ELN_DATABASE_URL": "postgresql://bot:secret@db.example/eln",
            "ELN_RETENTION_DAYS": "90",
            "ELN_AUDIT_CHANNEL": "4",
            "ELN_GUILD_ID": "5",
            "ELN_LOG_LEVEL": "debug",
            "ELN_SHARD_COUNT": "2",
            "ELN_SHARD_IDS": "0,1",
            "ELN_USER_RATE": "3/10",
            "ELN_SYNC_COMMANDS": "never",
        },
        dotenv=None,
    )
    assert settings.answer_channels == {1, 2, 3}
    assert (settings.audit_channel, settings.guild_id, settings.shard_ids) == (4, 5, (0, 1))
    assert settings.user_rate == Rate(3, 10.0)
    assert settings.log_level == "DEBUG" and settings.sync_commands == "never"
    assert settings.moderator_role == 6 and settings.home_guild == 5  # ELN_GUILD_ID's
    assert settings.retention_days == 90 and settings.database_file is None
    assert "secret" not in repr(settings)


def test_a_moderator_role_given_by_name_is_refused() -> None:
    """Anyone can create a role called "Mods" in their own server; only an id is safe."""
    with pytest.raises(ConfigError, match=r"ELN_MODERATOR_ROLE='Mods'.*role's id"):
        Settings.from_env({"ELN_MODERATOR_ROLE": "Mods"}, dotenv=None)


def test_a_database_url_of_another_kind_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError, match="ELN_DATABASE_URL") as caught:
        Settings.from_env({"ELN_DATABASE_URL": "mysql://u:pw@h/db"}, dotenv=None)
    assert "pw" not in str(caught.value)


def test_token_from_file_and_never_in_repr(tmp_path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cr3t-token\n", encoding="utf-8")
    settings = Settings.from_env({"DISCORD_TOKEN_FILE": str(secret)}, dotenv=None)
    assert settings.token == "s3cr3t-token"
    assert "s3cr3t" not in repr(settings)


def test_dotenv_file_is_read_and_environment_wins(tmp_path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ELN_GUILD_ID=7\nELN_AUDIT_CHANNEL=8\n", encoding="utf-8")
    settings = Settings.from_env({"ELN_GUILD_ID": "9"}, dotenv=env_file)
    assert (settings.guild_id, settings.audit_channel) == (9, 8)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("ELN_GUILD_ID", "abc", "whole number"),
        ("ELN_LOG_LEVEL", "LOUD", "must be one of"),
        ("ELN_USER_RATE", "fast", "must look like 5/30"),
        ("ELN_SYNC_COMMANDS", "sometimes", "must be one of"),
        ("DISCORD_TOKEN_FILE", "/nonexistent/token", "cannot read"),
    ],
)
def test_bad_values_name_the_setting(name: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({name: value}, dotenv=None)
    assert str(info.value).startswith(f"{name}=") and words in str(info.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ELN_RELOAD_INTERVAL", "nan"),
        ("ELN_RELOAD_INTERVAL", "inf"),
        ("ELN_RELOAD_INTERVAL", "-inf"),
        ("ELN_RELOAD_INTERVAL", "0"),
        ("ELN_RELOAD_INTERVAL", "-1"),
        ("ELN_RELOAD_INTERVAL", "1s"),
        ("ELN_SHARD_COUNT", "0"),
        ("ELN_SHARD_COUNT", "-2"),
        ("ELN_MAX_QUESTION", "0"),
        ("ELN_MAX_QUESTION", "1_000"),
        ("ELN_MAX_QUESTION", "\uff15"),  # a full-width 5: int() would take it
        ("ELN_MAX_QUESTION", "2.5"),
        ("ELN_AUDIT_CHANNEL", "0"),
        ("ELN_ANSWER_CHANNELS", "1,x"),
        ("ELN_USER_RATE", "5/nan"),
        ("ELN_USER_RATE", "5/inf"),
        ("ELN_USER_RATE", "0/30"),
        ("ELN_CHANNEL_RATE", "5/0"),
        ("ELN_SHARD_IDS", "0,1"),  # without ELN_SHARD_COUNT
        ("DISCORD_API_BASE", "discord.com"),
    ],
)
def test_out_of_range_values_are_refused_in_one_line(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({name: value}, dotenv=None)
    message = str(info.value)
    assert message.startswith(f"{name}={value!r} (set in the environment): ")
    assert "\n" not in message


def test_shard_ids_must_lie_below_the_count() -> None:
    env = {"ELN_SHARD_COUNT": "2", "ELN_SHARD_IDS": "1 2"}
    with pytest.raises(ConfigError, match=r"ELN_SHARD_IDS='1 2'.*from 0 to 1"):
        Settings.from_env(env, dotenv=None)
    assert Settings.from_env({**env, "ELN_SHARD_IDS": "0, 1"}, dotenv=None).shard_ids == (0, 1)


def test_usable_edge_values_are_kept() -> None:
    settings = Settings.from_env(
        {
            "ELN_RELOAD_INTERVAL": "0.25",
            "ELN_MAX_QUESTION": " 1 ",
            "ELN_CHANNEL_RATE": "1/0.5",
            "ELN_SHARD_COUNT": "1",
            "ELN_SHARD_IDS": "0",
        },
        dotenv=None,
    )
    assert (settings.reload_interval, settings.max_question) == (0.25, 1)
    assert settings.channel_rate == Rate(1, 0.5)
    assert (settings.shard_count, settings.shard_ids) == (1, (0,))


def test_blank_values_mean_the_default() -> None:
    blank = dict.fromkeys(("ELN_MAX_QUESTION", "ELN_RELOAD_INTERVAL", "ELN_USER_RATE"), " ")
    settings = Settings.from_env(blank, dotenv=None)
    assert (settings.max_question, settings.reload_interval) == (500, 1.0)
    assert settings.user_rate == Rate(5, 30.0)


def test_a_bad_value_in_the_dotenv_file_says_so(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ELN_SHARD_COUNT=0\nELN_GUILD_ID=7\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Settings.from_env({}, dotenv=env_file)
    assert str(info.value) == (
        f"ELN_SHARD_COUNT='0' (set in the .env file at {env_file}): must be 1 or more"
    )
    fixed = Settings.from_env({"ELN_SHARD_COUNT": "3"}, dotenv=env_file)  # environment wins
    assert (fixed.shard_count, fixed.guild_id) == (3, 7)


def test_a_bad_token_is_reported_without_showing_it() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"DISCORD_TOKEN": "abc\ndef-secret"}, dotenv=None)
    assert str(info.value).startswith("DISCORD_TOKEN (set in the environment): ")
    assert "line breaks" in str(info.value) and "secret" not in str(info.value)


def test_the_example_env_file_leaves_the_data_directory_to_the_default() -> None:
    """Copied to .env, the example must not choose the data directory: the default (the
    platform's user data directory) applies, and `docker run --env-file .env` would
    otherwise override the image's /data volume with a path inside the container."""
    example = REPO_ROOT / ".env.example"
    assert RawSettings.read({}, example).get("ELN_DATA_DIR") is None
    assert "# ELN_DATA_DIR=" in example.read_text(encoding="utf-8"), "still shown, commented"
    defaults = Settings.from_env({}, dotenv=None)
    assert Settings.from_env({}, dotenv=example).data_dir == defaults.data_dir
