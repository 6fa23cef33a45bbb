"""Scheduler renderers: cron, systemd and Task Scheduler output parsed and checked; the
crontab install/uninstall runs against the real `crontab` binary for the current user."""

from __future__ import annotations

import configparser
import fcntl
import os
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import PureWindowsPath

import pytest

from frota.errors import ConfigError
from frota.orchestrate import schedule
from frota.orchestrate.schedule import install_cron, parse_interval, render, uninstall_cron

CANARY = "canary-pw-5f1e"
NS = {"t": schedule.TASK_NAMESPACE}
WIN_BIN = r"C:\frota\.venv\Scripts\frota.exe"
WIN_DIR = r"C:\frota"


@pytest.fixture(autouse=True)
def secret_canary(monkeypatch):
    """A password in the environment that must never reach a schedule."""
    monkeypatch.setenv("FROTA_DATABASE_PASSWORD", CANARY)
    monkeypatch.setenv("FROTA_WEBHOOK_TOKEN", CANARY)
    monkeypatch.setenv("FROTA_DATABASE_URL", f"mysql+pymysql://frota:{CANARY}@db.local/frota")
    monkeypatch.setenv("FROTA_LANDING", "/srv/landing area")


def cron_entry(block: str | dict[str, str]) -> str:
    """The one non-comment line of a rendered cron block."""
    if isinstance(block, dict):
        (block,) = block.values()
    lines = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(lines) == 1, block
    return lines[0]


def cron_command(entry: str) -> str:
    """What cron hands to /bin/sh: the text after the five time fields, `\\%` unescaped."""
    return entry.split(None, 5)[5].replace("\\%", "%")


# -- intervals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("every", "at", "cron", "on_calendar", "iso"),
    [
        ("5m", None, "*/5 * * * *", "*:0/5", "PT5M"),
        ("15m", None, "*/15 * * * *", "*:0/15", "PT15M"),
        ("30m", None, "*/30 * * * *", "*:0/30", "PT30M"),
        ("1h", None, "0 * * * *", "hourly", "PT1H"),
        ("hourly", None, "0 * * * *", "hourly", "PT1H"),
        ("60m", None, "0 * * * *", "hourly", "PT1H"),
        ("6h", None, "0 */6 * * *", "*-*-* 0/6:00:00", "PT6H"),
        ("1d", None, "0 2 * * *", "*-*-* 02:00:00", "P1D"),
        ("daily", None, "0 2 * * *", "*-*-* 02:00:00", "P1D"),
        ("1d", "23:45", "45 23 * * *", "*-*-* 23:45:00", "P1D"),
        ("DAILY", "7:05", "5 7 * * *", "*-*-* 07:05:00", "P1D"),
    ],
)
def test_interval_maps_to_each_scheduler(every, at, cron, on_calendar, iso):
    interval = parse_interval(every, at)
    assert (interval.cron, interval.on_calendar, interval.iso_duration) == (cron, on_calendar, iso)


@pytest.mark.parametrize(
    ("every", "at"),
    [
        ("7m", None),  # does not divide the hour: */7 fires at irregular times
        ("0m", None),
        ("90m", None),
        ("5h", None),
        ("2d", None),
        ("1w", None),
        ("-5m", None),
        ("5", None),
        ("", None),
        ("every day", None),
        ("15m; rm -rf /", None),
        ("15m", "02:00"),  # --at only for daily
        ("1d", "25:00"),
        ("1d", "2pm"),
        ("1d", "02:60"),
    ],
)
def test_interval_parser_rejects_junk(every, at):
    with pytest.raises(ConfigError) as info:
        parse_interval(every, at)
    assert info.value.hint


@pytest.mark.parametrize("fmt", schedule.FORMATS)
def test_render_rejects_bad_role_format_and_relative_paths(fmt, tmp_path):
    frota_bin, workdir = (WIN_BIN, WIN_DIR) if fmt == "windows" else ("/opt/frota", "/srv/frota")
    with pytest.raises(ConfigError, match="unknown role"):
        render("nope", "15m", fmt, frota_bin=frota_bin, workdir=workdir)
    with pytest.raises(ConfigError, match="absolute path"):
        render("source", "15m", fmt, frota_bin="frota", workdir=workdir)
    with pytest.raises(ConfigError, match="absolute path"):
        render("source", "15m", fmt, frota_bin=frota_bin, workdir="data")
    with pytest.raises(ConfigError, match="unknown schedule format"):
        render("source", "15m", "launchd", frota_bin=frota_bin, workdir=workdir)


@pytest.mark.parametrize(
    ("role", "args"),
    [
        ("source", ["run", "--role", "source"]),
        ("server", ["run", "--role", "server"]),
        ("analytics", ["run", "--role", "analytics"]),
        ("report", ["report"]),
        ("all", ["run"]),
    ],
)
def test_each_role_runs_the_command_a_person_would_type(role, args):
    assert schedule.frota_args(role) == args
    assert (
        schedule.frota_args(role, config="/etc/frota.toml")
        == ["--config", "/etc/frota.toml"] + args
    )


# -- cron ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", schedule.ROLES)
def test_cron_entry_fields(role):
    block = render(
        role,
        "15m",
        "cron",
        frota_bin="/opt/frota/bin/frota",
        workdir="/srv/frota",
        config="/srv/frota/frota.toml",
    )[f"frota-{role}.cron"]
    entry = cron_entry(block)
    fields = entry.split(None, 5)
    assert fields[:5] == ["*/15", "*", "*", "*", "*"]
    words = shlex.split(cron_command(entry), comments=True)
    # cd <workdir> && mkdir -p <logs> && [VAR=value…] flock -n <lock> <frota> … >> <log> 2>&1
    assert words[:3] == ["cd", "/srv/frota", "&&"]
    flock = words.index("flock")
    assert words[flock : flock + 3] == ["flock", "-n", f"/srv/frota/data/frota-{role}.lock"]
    expected = ["/opt/frota/bin/frota", *schedule.frota_args(role, config="/srv/frota/frota.toml")]
    assert words[flock + 3 : flock + 3 + len(expected)] == expected
    assert words[-3:] == [">>", f"/srv/frota/data/logs/frota-{role}.log", "2>&1"]
    env = dict(w.split("=", 1) for w in words[words.index("&&", 3) + 1 : flock] if "=" in w)
    assert env["FROTA_LANDING"] == "/srv/landing area"
    assert env["PATH"] == os.environ["PATH"]
    # The marker ends the line as a shell comment, so install/uninstall can find it.
    assert entry.endswith(f"# frota:{role}")
    assert all(line.startswith(f"# frota:{role}") for line in block.splitlines()[:-1])


def test_cron_daily_at():
    block = render("analytics", "daily", "cron", frota_bin="/f", workdir="/w", at="04:10")
    assert cron_entry(block).split(None, 5)[:5] == ["10", "4", "*", "*", "*"]


@pytest.mark.parametrize("fmt", ["cron", "systemd"])
def test_no_secret_is_ever_written(fmt):
    files = render("server", "5m", fmt, frota_bin="/opt/frota", workdir="/srv/frota")
    text = "".join(files.values())
    assert CANARY not in text
    assert "FROTA_DATABASE_PASSWORD=" not in text and "FROTA_WEBHOOK_TOKEN=" not in text
    # The URL stays, without its password; the secret names are listed so people know.
    assert "mysql+pymysql://frota@db.local/frota" in text
    assert "FROTA_DATABASE_PASSWORD" in text


def test_schedule_names_the_secrets_file_instead_of_secrets():
    for fmt in ("cron", "systemd"):
        files = render(
            "server",
            "5m",
            fmt,
            frota_bin="/f",
            workdir="/w",
            secrets_file="/etc/frota/secrets.toml",
        )
        text = "".join(files.values())
        assert "FROTA_SECRETS_FILE=/etc/frota/secrets.toml" in text
        assert CANARY not in text
    ps1 = render(
        "source",
        "15m",
        "windows",
        frota_bin=WIN_BIN,
        workdir=WIN_DIR,
        secrets_file=r"C:\Users\Ana's\secrets.toml",
    )["register-frota-source.ps1"]
    assert (
        "[Environment]::SetEnvironmentVariable('FROTA_SECRETS_FILE', "
        "'C:\\Users\\Ana''s\\secrets.toml', 'User')"
    ) in ps1


def test_an_existing_secrets_file_pointer_is_kept(monkeypatch):
    monkeypatch.setenv("FROTA_SECRETS_FILE", "/home/ana/.config/frota/secrets.toml")
    block = render("server", "5m", "cron", frota_bin="/f", workdir="/w")
    assert "FROTA_SECRETS_FILE=/home/ana/.config/frota/secrets.toml" in cron_entry(block)


def test_cron_escapes_percent():
    block = render("all", "1h", "cron", frota_bin="/opt/frota", workdir="/srv/100%data")
    entry = cron_entry(block)
    assert "%" not in entry.replace("\\%", "")
    assert "/srv/100%data" in cron_command(entry)


@pytest.fixture
def fake_frota(tmp_path):
    """A stand-in `frota` that records its arguments, folder and environment."""
    script = tmp_path / "bin" / "frota"
    script.parent.mkdir()
    script.write_text(
        '#!/bin/sh\necho "args: $*"\necho "cwd: $(pwd)"\necho "landing: $FROTA_LANDING"\n'
        'echo "password: ${FROTA_DATABASE_PASSWORD:-unset}"\necho oops >&2\n'
    )
    script.chmod(0o755)
    return script


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock (util-linux) not installed")
def test_cron_command_runs_under_sh_with_lock_and_log(fake_frota, tmp_path):
    workdir = tmp_path / "work dir"
    workdir.mkdir()
    block = render("source", "15m", "cron", frota_bin=str(fake_frota), workdir=str(workdir))
    command = cron_command(cron_entry(block))
    clean_env = {"HOME": str(tmp_path), "SHELL": "/bin/sh"}  # cron's own, minimal environment
    log = workdir / "data" / "logs" / "frota-source.log"

    subprocess.run(["/bin/sh", "-c", command], env=clean_env, check=True)
    out = log.read_text()
    assert "args: run --role source" in out
    assert f"cwd: {workdir}" in out
    assert "landing: /srv/landing area" in out
    assert "password: unset" in out  # secrets are not smuggled through the crontab
    assert "oops" in out  # stderr goes to the log too

    # A run still holding the lock: the next one exits at once and frota is not started.
    with open(workdir / "data" / "frota-source.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        second = subprocess.run(["/bin/sh", "-c", command], env=clean_env, check=False)
    assert second.returncode != 0
    assert log.read_text().count("args:") == 1
    subprocess.run(["/bin/sh", "-c", command], env=clean_env, check=True)
    assert log.read_text().count("args:") == 2


# -- systemd ------------------------------------------------------------------------------


def parse_unit(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


@pytest.mark.parametrize(
    ("every", "at", "on_calendar"),
    [("15m", None, "*:0/15"), ("hourly", None, "hourly"), ("1d", "02:00", "*-*-* 02:00:00")],
)
def test_systemd_service_and_timer(every, at, on_calendar):
    files = render(
        "server",
        every,
        "systemd",
        frota_bin="/opt/frota venv/bin/frota",
        workdir="/srv/frota",
        config="/srv/frota/frota.toml",
        at=at,
        secrets_file="/etc/frota/secrets.toml",
    )
    assert set(files) == {"frota-server.service", "frota-server.timer"}
    service = parse_unit(files["frota-server.service"])
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["WorkingDirectory"] == "/srv/frota"
    assert shlex.split(service["Service"]["ExecStart"]) == [
        "/opt/frota venv/bin/frota",
        "--config",
        "/srv/frota/frota.toml",
        "run",
        "--role",
        "server",
    ]
    env_lines = [
        shlex.split(line.split("=", 1)[1])[0]
        for line in files["frota-server.service"].splitlines()
        if line.startswith("Environment=")
    ]
    assert "FROTA_LANDING=/srv/landing area" in env_lines
    assert "FROTA_SECRETS_FILE=/etc/frota/secrets.toml" in env_lines
    assert not any(line.startswith("FROTA_DATABASE_PASSWORD") for line in env_lines)
    timer = parse_unit(files["frota-server.timer"])
    assert timer["Timer"]["OnCalendar"] == on_calendar
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "frota-server.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
@pytest.mark.parametrize("every", ["5m", "15m", "1h", "6h", "1d"])
def test_systemd_accepts_the_calendar_expression(every):
    on_calendar = parse_interval(every).on_calendar
    result = subprocess.run(
        ["systemd-analyze", "calendar", "--iterations=3", on_calendar],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Next elapse" in result.stdout


def test_systemd_keeps_percent_and_dollar_literal():
    files = render("all", "1h", "systemd", frota_bin="/opt/$HOME/frota", workdir="/srv/50%", env={})
    service = files["frota-all.service"]
    assert "ExecStart=/opt/$$HOME/frota run" in service
    assert "WorkingDirectory=/srv/50%%" in service


# -- Windows Task Scheduler ---------------------------------------------------------------


def render_task(every="15m", at=None, config=r"C:\frota\conf\frota.toml", role="source"):
    return render(role, every, "windows", frota_bin=WIN_BIN, workdir=WIN_DIR, config=config, at=at)


def text(root: ET.Element, path: str) -> str | None:
    node = root.find(path, NS)
    return None if node is None else node.text


def task_command(exec_: ET.Element) -> list[str]:
    """The command line the task's cmd.exe runs (after creating the log folder), as words."""
    assert text(exec_, "t:Command") == schedule.CMD
    args = text(exec_, "t:Arguments") or ""
    assert args.startswith('/d /s /c "mkdir "') and args.endswith('"'), args
    mkdir, run = args[len('/d /s /c "') : -1].split(" 2>nul & ", 1)
    words = shlex.split(run)
    assert shlex.split(mkdir) == ["mkdir", str(PureWindowsPath(words[-2]).parent)]
    return words


def test_task_xml_fields_every_15_minutes():
    files = render_task()
    assert set(files) == {"frota-source.xml", "register-frota-source.ps1"}
    xml = files["frota-source.xml"]
    assert xml.startswith('<?xml version="1.0" encoding="UTF-16"?>')
    root = ET.fromstring(xml)
    assert root.tag == f"{{{schedule.TASK_NAMESPACE}}}Task"
    assert root.get("version") == "1.4"
    assert [child.tag.split("}")[1] for child in root] == [
        "RegistrationInfo",
        "Triggers",
        "Principals",
        "Settings",
        "Actions",
    ]
    (trigger,) = root.find("t:Triggers", NS)
    assert trigger.tag.endswith("TimeTrigger")
    # The schema's triggerBaseType is a sequence: Enabled, StartBoundary, …, Repetition.
    assert [c.tag.split("}")[1] for c in trigger] == ["Enabled", "StartBoundary", "Repetition"]
    assert text(trigger, "t:StartBoundary") == "2025-01-01T00:00:00"
    assert text(trigger, "t:Repetition/t:Interval") == "PT15M"
    assert trigger.find("t:Repetition/t:Duration", NS) is None  # repeat indefinitely
    assert text(trigger, "t:Repetition/t:StopAtDurationEnd") == "false"

    settings = root.find("t:Settings", NS)
    assert text(settings, "t:MultipleInstancesPolicy") == "IgnoreNew"
    assert text(settings, "t:StartWhenAvailable") == "true"
    assert text(settings, "t:ExecutionTimeLimit") == "PT4H"
    assert text(settings, "t:RestartOnFailure/t:Interval") == "PT5M"
    assert text(settings, "t:RestartOnFailure/t:Count") == "3"
    assert text(settings, "t:Enabled") == "true"

    principal = root.find("t:Principals/t:Principal", NS)
    assert principal.get("id") == root.find("t:Actions", NS).get("Context") == "Author"
    assert text(principal, "t:RunLevel") == "LeastPrivilege"

    exec_ = root.find("t:Actions/t:Exec", NS)
    assert [c.tag.split("}")[1] for c in exec_] == ["Command", "Arguments", "WorkingDirectory"]
    log = r"C:\frota\data\logs\frota-source.log"
    args = ["--config", r"C:\frota\conf\frota.toml", "run", "--role", "source"]
    assert task_command(exec_) == [WIN_BIN, *args, ">>", log, "2>&1"]
    assert text(exec_, "t:WorkingDirectory") == WIN_DIR
    assert text(root, "t:RegistrationInfo/t:URI") == r"\frota\frota-source"


def test_task_xml_daily_calendar_trigger():
    root = ET.fromstring(render_task("daily", "03:30", role="all")["frota-all.xml"])
    (trigger,) = root.find("t:Triggers", NS)
    assert trigger.tag.endswith("CalendarTrigger")
    assert text(trigger, "t:StartBoundary") == "2025-01-01T03:30:00"
    assert text(trigger, "t:ScheduleByDay/t:DaysInterval") == "1"
    assert task_command(root.find("t:Actions/t:Exec", NS))[:4] == [
        WIN_BIN, "--config", r"C:\frota\conf\frota.toml", "run"
    ]  # fmt: skip


@pytest.mark.parametrize("every", ["5m", "1h", "6h"])
def test_task_xml_repetition(every):
    root = ET.fromstring(render_task(every)["frota-source.xml"])
    assert text(root, "t:Triggers/t:TimeTrigger/t:Repetition/t:Interval") == (
        parse_interval(every).iso_duration
    )


def test_task_arguments_quote_paths_with_spaces_and_escape_xml():
    files = render(
        "source",
        "15m",
        "windows",
        frota_bin=r"C:\Program Files\frota & co\frota.exe",
        workdir=r"C:\Users\Ana Souza\frota",
        config=r"C:\Users\Ana Souza\frota\frota.toml",
    )
    root = ET.fromstring(files["frota-source.xml"])
    assert task_command(root.find("t:Actions/t:Exec", NS)) == [
        r"C:\Program Files\frota & co\frota.exe",
        "--config",
        r"C:\Users\Ana Souza\frota\frota.toml",
        *["run", "--role", "source", ">>"],
        r"C:\Users\Ana Souza\frota\data\logs\frota-source.log",
        "2>&1",
    ]


def test_task_files_written_as_windows_expects(tmp_path):
    files = render_task()
    paths = schedule.write_files(files, tmp_path)
    xml_bytes = (tmp_path / "frota-source.xml").read_bytes()
    assert xml_bytes[:2] == b"\xff\xfe"  # UTF-16 LE with BOM, matching the declaration
    root = ET.fromstring(xml_bytes)
    assert text(root, "t:Settings/t:MultipleInstancesPolicy") == "IgnoreNew"
    ps1 = (tmp_path / "register-frota-source.ps1").read_bytes().decode("utf-8-sig")
    assert "Register-ScheduledTask -Xml $xml" in ps1
    assert (
        "Get-Content -LiteralPath (Join-Path $PSScriptRoot 'frota-source.xml') | Out-String" in ps1
    )
    assert "-Force" in ps1 and "Unregister-ScheduledTask" in ps1
    assert {p.name for p in paths} == set(files)


# -- install / uninstall against the real crontab -----------------------------------------


@pytest.fixture
def real_crontab():
    """The current user's crontab, backed up before the test and restored after it."""
    if shutil.which("crontab") is None:
        if os.environ.get("CI"):
            pytest.fail("crontab missing in CI: apt-get install cron")
        pytest.skip("crontab not installed (Debian: apt-get install cron)")
    before = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    had_crontab = before.returncode == 0
    try:
        yield
    finally:
        if had_crontab:
            subprocess.run(["crontab", "-"], input=before.stdout, text=True, check=True)
        else:
            subprocess.run(["crontab", "-r"], capture_output=True, check=False)


def current_crontab() -> str:
    return schedule.read_crontab()


def test_install_is_idempotent_and_uninstall_keeps_other_lines(real_crontab, tmp_path):
    user_lines = "MAILTO=ops@example.com\n0 3 * * * /usr/bin/backup --quiet # mine\n"
    schedule.write_crontab(user_lines)
    kwargs = {"frota_bin": "/opt/frota/bin/frota", "workdir": str(tmp_path)}

    first = install_cron("source", "15m", **kwargs)
    assert (first.action, first.changed) == ("added", True)
    assert (tmp_path / "data" / "logs").is_dir()
    again = install_cron("source", "15m", **kwargs)
    assert (again.action, again.changed) == ("unchanged", False)
    table = current_crontab()
    assert table.startswith(user_lines)
    entries = [line for line in table.splitlines() if line.endswith("# frota:source")]
    assert entries == [first.entry]
    assert entries[0].startswith("*/15 * * * * ")
    assert CANARY not in table

    changed = install_cron("source", "1h", **kwargs)
    assert changed.action == "replaced"
    install_cron("server", "5m", **kwargs)
    table = current_crontab()
    assert [line.split(None, 5)[:2] for line in table.splitlines() if line.endswith("source")] == [
        ["0", "*"]
    ]
    assert sum(line.endswith("# frota:server") for line in table.splitlines()) == 1

    removed = uninstall_cron("source")
    assert (removed.action, removed.changed) == ("removed", True)
    table = current_crontab()
    assert "# frota:source" not in table
    assert table.startswith(user_lines)
    assert "# frota:server" in table
    assert uninstall_cron("source").action == "absent"
    uninstall_cron("server")
    assert current_crontab() == user_lines


def test_install_into_an_empty_crontab(real_crontab, tmp_path):
    subprocess.run(["crontab", "-r"], capture_output=True, check=False)
    assert current_crontab() == ""
    change = install_cron("all", "daily", at="01:15", frota_bin="/f/frota", workdir=str(tmp_path))
    assert change.action == "added"
    assert cron_entry(current_crontab()).startswith("15 1 * * * ")
    assert uninstall_cron("all").action == "removed"
    assert current_crontab() == ""


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock (util-linux) not installed")
def test_cron_run_sees_the_secrets_file(fake_frota, tmp_path):
    secrets = tmp_path / "secrets.toml"
    block = render(
        "server",
        "5m",
        "cron",
        frota_bin=str(fake_frota),
        workdir=str(tmp_path),
        secrets_file=str(secrets),
    )
    fake_frota.write_text('#!/bin/sh\necho "args: $*"\necho "secrets: $FROTA_SECRETS_FILE"\n')
    command = cron_command(cron_entry(block))
    subprocess.run(["/bin/sh", "-c", command], env={"HOME": str(tmp_path)}, check=True)
    out = (tmp_path / "data" / "logs" / "frota-server.log").read_text()
    assert "args: run --role server" in out
    assert f"secrets: {secrets}" in out


# -- log_dir: every scheduler writes the runs' output where the setting says -----------------


@pytest.mark.parametrize(
    ("log_dir", "posix_log", "windows_log"),
    [
        (None, "/srv/frota/data/logs/frota-server.log", r"C:\frota\data\logs\frota-server.log"),
        ("logs/frota", "/srv/frota/logs/frota/frota-server.log", None),
        ("/var/log/frota", "/var/log/frota/frota-server.log", None),
        (r"D:\logs", None, r"D:\logs\frota-server.log"),
        ("registos", "/srv/frota/registos/frota-server.log", r"C:\frota\registos\frota-server.log"),
    ],
    ids=["default", "relative", "absolute", "windows-drive", "both"],
)
def test_every_scheduler_writes_output_to_log_dir(log_dir, posix_log, windows_log):
    if posix_log:
        kwargs = {"frota_bin": "/opt/frota", "workdir": "/srv/frota", "log_dir": log_dir}
        cron = cron_command(cron_entry(render("server", "5m", "cron", **kwargs)))
        words = shlex.split(cron, comments=True)
        assert words[-3:] == [">>", posix_log, "2>&1"]
        assert ["mkdir", "-p", posix_log.rsplit("/", 1)[0]] == words[3:6]
        service = parse_unit(render("server", "5m", "systemd", **kwargs)["frota-server.service"])
        assert service["Service"]["StandardOutput"] == f"append:{posix_log}"
        assert service["Service"]["StandardError"] == f"append:{posix_log}"
    if windows_log:
        files = render(
            "server", "5m", "windows", frota_bin=WIN_BIN, workdir=WIN_DIR, log_dir=log_dir
        )
        exec_ = ET.fromstring(files["frota-server.xml"]).find("t:Actions/t:Exec", NS)
        assert task_command(exec_)[-3:] == [">>", windows_log, "2>&1"]


def test_windows_task_refuses_a_percent_in_a_path():
    with pytest.raises(ConfigError, match="holds a %"):
        render("source", "1h", "windows", frota_bin=WIN_BIN, workdir=r"C:\frota\50%")


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock (util-linux) not installed")
def test_cron_run_appends_to_an_absolute_log_dir(fake_frota, tmp_path):
    logs = tmp_path / "var log" / "frota"
    block = render(
        "server", "5m", "cron", frota_bin=str(fake_frota), workdir=str(tmp_path), log_dir=str(logs)
    )
    subprocess.run(["/bin/sh", "-c", cron_command(cron_entry(block))], env={}, check=True)
    assert "args: run --role server" in (logs / "frota-server.log").read_text()
    assert not (tmp_path / "data" / "logs").exists()


def test_cli_schedule_takes_log_dir_from_the_settings(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from frota.cli import cli

    monkeypatch.setenv("FROTA_LOG_DIR", "registos")
    out = tmp_path / "units"
    result = CliRunner().invoke(
        cli,
        ["schedule", "--format", "systemd", "--workdir", str(tmp_path), "--out", str(out),
         "--frota-bin", "/opt/frota"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    service = parse_unit((out / "frota-all.service").read_text())
    assert service["Service"]["StandardOutput"] == f"append:{tmp_path}/registos/frota-all.log"
    assert (tmp_path / "registos").is_dir()  # systemd would not create it
