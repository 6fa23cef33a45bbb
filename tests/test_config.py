"""Settings: flags beat env, env beats the file, the file beats defaults; secrets stay secret."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from frota.config import Secret, Settings, load_settings
from frota.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_embedded_ones() -> None:
    s = load_settings(env={})
    assert (s.landing, s.database, s.warehouse) == (
        "data/landing",
        "sqlite:///data/frota.db",
        "duckdb:///data/warehouse.duckdb",
    )


@pytest.mark.parametrize(
    "file_value, env_value, flag_value, expected",
    [
        (None, None, None, "data/landing"),
        ("from-file", None, None, "from-file"),
        ("from-file", "from-env", None, "from-env"),
        ("from-file", "from-env", "from-flag", "from-flag"),
        (None, "from-env", None, "from-env"),
        (None, None, "from-flag", "from-flag"),
    ],
    ids=["default", "file", "env-beats-file", "flag-beats-all", "env", "flag"],
)
def test_precedence(tmp_path: Path, file_value, env_value, flag_value, expected) -> None:
    config = write(tmp_path / "frota.toml", f'landing = "{file_value}"\n') if file_value else None
    env = {"FROTA_LANDING": env_value} if env_value else {}
    assert load_settings(config, env=env, landing=flag_value).landing == expected


def test_frota_section_and_ints(tmp_path: Path) -> None:
    config = write(tmp_path / "f.toml", '[frota]\nseed = 3\nvehicles = 50\nsource = "pc-1"\n')
    s = load_settings(config, env={"FROTA_SEED": "9"})
    assert (s.seed, s.vehicles, s.source) == (9, 50, "pc-1")


@pytest.mark.parametrize(
    "text, message",
    [
        ('landing = "x"\ncolour = "blue"\n', "unknown setting(s) colour"),
        ('database_password = "hunter2"\n', "must not be in the config file"),
        ("seed = 'seven'\n", "seed must be a whole number"),
        ("landing = [\n", "not valid TOML"),
    ],
    ids=["unknown-key", "secret-in-file", "bad-int", "bad-toml"],
)
def test_bad_config_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(write(tmp_path / "frota.toml", text), env={})


def test_password_from_env_never_prints() -> None:
    s = load_settings(env={"FROTA_DATABASE_PASSWORD": "hunter2"})
    assert s.db_password() == "hunter2"
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.database_password)


def test_secrets_file_must_be_private(tmp_path: Path) -> None:
    secrets = write(tmp_path / "secrets.toml", 'database_password = "hunter2"\n')
    os.chmod(secrets, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_settings(env={"FROTA_SECRETS_FILE": str(secrets)})
    os.chmod(secrets, 0o600)
    s = load_settings(env={"FROTA_SECRETS_FILE": str(secrets)})
    assert isinstance(s.database_password, Secret) and s.db_password() == "hunter2"


def test_with_overrides_ignores_none() -> None:
    assert Settings().with_overrides(seed=None, vehicles=5).vehicles == 5
