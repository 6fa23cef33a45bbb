"""The `frota` command as a person types it: help, the main flow, exit codes, no secrets."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from batchkit import M1_LINES, V1_LINES, publish_lines
from click.testing import CliRunner
from filelock import FileLock

from frota.cli import cli, main
from frota.errors import EXIT_CODES, EXIT_LOCAL_FILE, EXIT_USAGE

FROTA = [sys.executable, "-m", "frota"]


def frota(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FROTA_")}
    full_env.update(env or {})
    return subprocess.run(
        [*FROTA, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300
    )


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = frota("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("generate", "publish", "load", "run", "status", "db"):
        assert f"  {command} " in result.stdout


def _commands(group, prefix=()):
    import click

    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [p for p, _ in _commands(cli)], ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    command = dict(_commands(cli))[path]
    assert command.help and len(command.help) > 20


def test_run_status_rerun_continue(tmp_path: Path) -> None:
    first = frota("run", "--no-warehouse", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "generated step 1" in first.stdout and "published:" in first.stdout
    status = json.loads(frota("status", "--json", cwd=tmp_path).stdout)
    assert status["batches_loaded"] == 1 and status["complete_pending"] == []
    assert status["rows"]["veiculos"] > 100 and status["rows"]["manutencoes"] > 1000
    assert "[run " in first.stderr  # every log line carries the run id

    load_again = frota("load", cwd=tmp_path)
    assert load_again.returncode == 0 and "nothing new to load" in load_again.stdout

    second = frota("run", "--no-warehouse", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "generated step 2" in second.stdout
    after = json.loads(frota("status", "--json", cwd=tmp_path).stdout)
    assert after["batches_loaded"] == 2
    assert after["rows"]["manutencoes"] > status["rows"]["manutencoes"]
    human = frota("status", cwd=tmp_path)
    assert "batches loaded" in human.stdout and "last runs" in human.stdout


def test_exit_code_lock_held(tmp_path: Path) -> None:
    assert frota("db", "init", cwd=tmp_path).returncode == 0
    with FileLock(str(tmp_path / "data" / "frota.db.lock"), timeout=0):
        result = frota("load", cwd=tmp_path)
    assert result.returncode == 4
    assert "another frota load is running" in result.stderr


def test_exit_code_bad_input(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "veiculos.csv").write_text("placa;cor\nABC1234;azul\n", encoding="utf-8")
    result = frota("publish", "--from", str(export), cwd=tmp_path)
    assert result.returncode == 3
    assert "veiculos.csv, line 1, column 'cor': unknown column 'cor'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_rejected_batch_is_set_aside_and_load_exits_0(tmp_path: Path) -> None:
    """A broken batch no longer fails every run (more in tests/test_batch_lifecycle.py)."""
    assert frota("db", "init", cwd=tmp_path).returncode == 0
    pub = publish_lines(tmp_path, str(tmp_path / "data" / "landing"), 1, V1_LINES, M1_LINES)
    target = tmp_path / "data" / "landing" / "batches" / pub.batch_id / "veiculos.csv"
    target.write_bytes(target.read_bytes().replace(b"Van", b"Vam"))
    result = frota("load", cwd=tmp_path)
    assert result.returncode == 0
    assert "checksum mismatch" in result.stdout and "set aside" in result.stdout
    assert "Traceback" not in result.stderr


def test_exit_code_database_unreachable_hides_the_password(tmp_path: Path) -> None:
    url = "mysql+pymysql://frota:canary-pw-123@127.0.0.1:1/logistica_fonte"
    fast = {"FROTA_RETRY_ATTEMPTS": "2", "FROTA_RETRY_MAX_SECONDS": "1"}  # retries: test_faults_*
    result = frota("--database", url, "load", cwd=tmp_path, env=fast)
    assert result.returncode == 5
    assert "cannot connect" in result.stderr
    assert "canary-pw-123" not in result.stdout + result.stderr
    env_result = frota(
        "load",
        cwd=tmp_path,
        env={
            "FROTA_DATABASE": "postgresql://frota@127.0.0.1:1/x",
            "FROTA_DATABASE_PASSWORD": "canary-pw-456",
            **fast,
        },
    )
    assert env_result.returncode == 5
    assert "canary-pw-456" not in env_result.stdout + env_result.stderr


def test_exit_code_config_error(tmp_path: Path) -> None:
    (tmp_path / "frota.toml").write_text("landing = [\n")
    result = frota("status", cwd=tmp_path)
    assert result.returncode == 7 and "not valid TOML" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["schedule", "--every", "7m"],
        ["schedule", "--every", "1d", "--at", "25:00"],
        ["schedule", "--every", "1h", "--at", "02:00"],
        ["schedule", "--frota-bin", "relative/frota"],
        ["generate", "--vehicles", "0"],
        ["generate", "--days", "0"],
        ["quarantine", "list", "--reason", "nope"],
        ["no-such-command"],
    ],
    ids=" ".join,
)
def test_bad_flag_values_are_usage_errors(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert args[-1] in err and "Traceback" not in err


def test_a_local_path_that_cannot_be_used_is_not_an_internal_error(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("a file where a folder should be")
    generate = frota(
        "--outbox", "outbox", "generate", "--vehicles", "5", "--days", "2", cwd=tmp_path
    )
    assert generate.returncode == EXIT_LOCAL_FILE, generate.stderr
    assert "outbox/_generator_state.json: Not a directory" in generate.stderr
    init = frota("--database", "sqlite:///outbox/sub/frota.db", "db", "init", cwd=tmp_path)
    assert init.returncode == EXIT_LOCAL_FILE, init.stderr
    assert "cannot use outbox/sub" in init.stderr and "internal error" not in init.stderr


def test_exit_codes_are_documented() -> None:
    """README, docs/cli.md and docs/operations.md list exactly the codes frota.errors defines."""
    root = Path(__file__).parent.parent
    for doc in ("README.md", "docs/cli.md", "docs/operations.md"):
        text = (root / doc).read_text(encoding="utf-8")
        table = text[text.index("## Exit codes") :].split("\n## ")[0]
        listed = [int(m) for m in re.findall(r"^\| (\d+) \|", table, re.M)]
        assert listed == sorted(EXIT_CODES), doc
    help_text = CliRunner().invoke(cli, ["--help"]).output
    assert all(f"  {code}  " in help_text for code in EXIT_CODES)


def test_db_grants_prints_least_privilege_sql(tmp_path: Path) -> None:
    result = frota("db", "grants", "--dialect", "mysql", cwd=tmp_path)
    assert result.returncode == 0
    assert "GRANT SELECT, INSERT, UPDATE, CREATE TEMPORARY TABLES" in result.stdout
    assert "FILE" not in result.stdout and "ALL PRIVILEGES" not in result.stdout
    pg = frota("db", "grants", "--dialect", "postgresql", cwd=tmp_path)
    assert "GRANT SELECT ON ALL TABLES IN SCHEMA public TO frota_analytics" in pg.stdout


def test_every_command_is_documented() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    for path, _ in _commands(cli):
        assert f"frota {' '.join(path)}" in docs, f"docs/cli.md does not document {path}"


def test_example_config_is_valid(tmp_path: Path) -> None:
    from frota.config import load_settings

    example = Path(__file__).parent.parent / "frota.example.toml"
    assert load_settings(example, env={}).database == "sqlite:///data/frota.db"


def test_schedule_renders_cron_for_this_install(tmp_path: Path) -> None:
    result = frota("schedule", "--role", "server", "--every", "15m", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("*/15 ")][0]
    assert f"cd {tmp_path}" in line and "flock -n" in line and "run --role server" in line
    bad = frota("schedule", "--every", "7m", cwd=tmp_path)
    assert bad.returncode == 2 and "7m" in bad.stderr
