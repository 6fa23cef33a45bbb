"""One redaction module for logs, errors, displays and schedules: what it masks, what it keeps,
and that the log handler, the CLI's error path and the schedules all go through it."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

import frota.redact as redact_module
from frota.observe.log import logger, setup_logging
from frota.redact import UNPARSEABLE, is_secret_name, mask_url, redact, without_url_password


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mysql+pymysql://frota:hunter2@db/x", "mysql+pymysql://frota:***@db/x"),
        ("see postgresql://a:b@h:5432/d and ftp://u:p@f/", "see postgresql://a:***@h:5432/d and"),
        ("rclone:sftp,host=h,pass=abc:/x", "rclone:sftp,host=h,pass=***:/x"),
        ('{"access_token": "ya29.x", "expiry": "2025"}', '{"access_token": ***, "expiry"'),
        ("sqlite:///data/frota.db", "sqlite:///data/frota.db"),
        ("loaded 3 batches, 120 rows", "loaded 3 batches, 120 rows"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text).startswith(expected)


def test_redact_known_values() -> None:
    assert redact("connect failed for s3cr3t-pw", ("s3cr3t-pw", "")) == "connect failed for ***"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mysql+pymysql://frota:pw@127.0.0.1:3306/x", "mysql+pymysql://frota:***@127.0.0.1:3306/x"),
        ("ftp://ana:Pa55@host:21/landing", "ftp://ana:***@host:21/landing"),
        ("webdav://host/x?token=t0kval", "webdav://host/x?token=***"),
        ("sqlite:///data/frota.db", "sqlite:///data/frota.db"),
        ("duckdb:///data/warehouse.duckdb", "duckdb:///data/warehouse.duckdb"),
        ("mysql//frota:pw@db/x", UNPARSEABLE),  # not a URL, but a password could hide in it
        ("mysql://frota:pw@db:port/x", UNPARSEABLE),
        (sa.make_url("postgresql+psycopg://u:pw@h/d"), "postgresql+psycopg://u:***@h/d"),
    ],
)
def test_mask_url(url, shown: str) -> None:
    assert mask_url(url) == shown


def test_schedule_rules() -> None:
    assert without_url_password("mysql://frota:pw@db/x") == ("mysql://frota@db/x", True)
    assert without_url_password("/srv/landing area") == ("/srv/landing area", False)
    for name in ("FROTA_DATABASE_PASSWORD", "FROTA_WEBHOOK_TOKEN", "AWS_SECRET", "X_PRIVATE_KEY"):
        assert is_secret_name(name), name
    assert not is_secret_name("FROTA_LANDING")


def test_log_lines_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("r1", secrets_=("hunter2",))
    try:
        logger.info("db mysql://u:pw9@h/x pass=abc, token hunter2")
    finally:
        logger.handlers.clear()
        logger.setLevel(logging.WARNING)
    err = capsys.readouterr().err
    assert "[run r1]" in err
    assert "pw9" not in err and "abc" not in err and "hunter2" not in err


def test_every_role_can_import_it_without_a_cycle() -> None:
    source = Path(redact_module.__file__).read_text(encoding="utf-8")
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert not [name for name in imported if name and name.startswith("frota")]
