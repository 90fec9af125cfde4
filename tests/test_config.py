"""Settings come from the environment once; bad values are one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Rate, Settings
from bot.errors import ConfigError


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({}, dotenv=None)
    assert settings.token is None
    assert settings.knowledge_path.name == "faq.yaml"
    assert settings.data_dir == Path("data")
    assert settings.answer_channels == frozenset()


def test_every_setting_is_read(tmp_path) -> None:
    settings = Settings.from_env(
        {
            "DISCORD_TOKEN": "abc",
            "DISCORD_API_BASE": "http://127.0.0.1:9",
            "ELN_KNOWLEDGE": "k.yaml",
            "ELN_DATA_DIR": str(tmp_path),
            "ELN_ANSWER_CHANNELS": "1, 2;3",
            "ELN_MODERATOR_ROLE": "Mods",
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
        ("ELN_USER_RATE", "fast", "count/seconds"),
        ("ELN_SYNC_COMMANDS", "sometimes", "must be one of"),
        ("DISCORD_TOKEN_FILE", "/nonexistent/token", "cannot read"),
        ("DISCORD_TOKEN", "abc\ndef", "line breaks"),
    ],
)
def test_bad_values_name_the_setting(name: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({name: value}, dotenv=None)
    assert name in str(info.value) and words in str(info.value)
