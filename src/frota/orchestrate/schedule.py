"""Schedule frota with cron, systemd timers or Windows Task Scheduler.

Every scheduler entry runs the command a person would type (`frota [--config F] run --role R`),
in a working directory; nothing here knows how the pipeline works. The renderers are pure
(text in, text out); only `install_cron` / `uninstall_cron` touch the system, through the
`crontab` binary.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from xml.sax.saxutils import escape as xml_escape

from frota.errors import ConfigError

ROLES = ("source", "server", "analytics", "all")
FORMATS = ("cron", "systemd", "windows")

# What each role runs, after `frota [--config F]`.
ROLE_ARGS: dict[str, tuple[str, ...]] = {
    "source": ("run", "--role", "source"),
    "server": ("run", "--role", "server"),
    "analytics": ("run", "--role", "analytics"),
    "all": ("run",),
}

# Intervals that divide an hour or a day evenly, so `*/N` fires at regular times.
_MINUTES = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)
_HOURS = (1, 2, 3, 4, 6, 8, 12)
_ALIASES = {"hourly": "1h", "daily": "1d", "60m": "1h", "24h": "1d"}
DEFAULT_DAILY_AT = "02:00"

# A run that takes longer than this is stuck; Task Scheduler and systemd stop it (a killed
# load commits nothing, and the next run picks the batch up again).
RUN_TIME_LIMIT_HOURS = 4

# Environment names that look like secrets never go into a crontab or a unit file.
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|PASS\b|PWD|TOKEN|SECRET|KEY|CREDENTIAL|PRIVATE", re.I)
_SECRETS_ADVICE = "put secrets in a TOML secrets file (chmod 600) named by FROTA_SECRETS_FILE"
# A URL's password (scheme://user:password@host) is cut out; the URL itself is kept.
_URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^/@\s:]*):[^/\s]*@")

TASK_NAMESPACE = "http://schemas.microsoft.com/windows/2004/02/mit/task"
TASK_FOLDER = "\\frota\\"
# Calendar anchor for Windows triggers: a fixed past date, so "every 15 minutes" fires at
# :00/:15/:30/:45 like cron, and the output does not depend on when it was rendered.
_WINDOWS_ANCHOR_DATE = "2025-01-01"


@dataclass(frozen=True)
class Interval:
    """A supported schedule interval, as each scheduler spells it."""

    every: str  # normalised: "15m", "6h", "1d"
    minutes: int  # period in minutes
    at: str | None  # "HH:MM" for daily intervals
    cron: str  # the five time fields
    on_calendar: str  # systemd OnCalendar=
    iso_duration: str  # ISO 8601 period for Task Scheduler: PT15M, PT6H, P1D


@dataclass(frozen=True)
class CronChange:
    """What `install_cron` / `uninstall_cron` did to the user's crontab."""

    role: str
    action: str  # "added", "replaced", "unchanged", "removed", "absent"
    entry: str | None  # the managed line now in the crontab (None after uninstall)

    @property
    def changed(self) -> bool:
        return self.action in ("added", "replaced", "removed")


def parse_interval(every: str, at: str | None = None) -> Interval:
    """Parse `--every` (5m, 15m, 1h, 6h, 1d, hourly, daily…) and `--at HH:MM` (daily only)."""
    text = str(every).strip().lower()
    text = _ALIASES.get(text, text)
    match = re.fullmatch(r"(\d{1,3})([mhd])", text)
    if not match:
        raise _bad_interval(every)
    n, unit = int(match.group(1)), match.group(2)
    if unit == "m" and n == 60:
        n, unit = 1, "h"
    if unit == "h" and n == 24:
        n, unit = 1, "d"
    if at is not None and unit != "d":
        raise ConfigError(
            f"--at {at} only applies to daily schedules, not to every {every}",
            hint="use --every 1d --at HH:MM, or drop --at",
        )
    if unit == "m" and n in _MINUTES:
        return Interval(
            every=f"{n}m",
            minutes=n,
            at=None,
            cron=f"*/{n} * * * *" if n > 1 else "* * * * *",
            on_calendar=f"*:0/{n}" if n > 1 else "*:*",
            iso_duration=f"PT{n}M",
        )
    if unit == "h" and n in _HOURS:
        return Interval(
            every=f"{n}h",
            minutes=n * 60,
            at=None,
            cron=f"0 */{n} * * *" if n > 1 else "0 * * * *",
            on_calendar=f"*-*-* 0/{n}:00:00" if n > 1 else "hourly",
            iso_duration=f"PT{n}H",
        )
    if unit == "d" and n == 1:
        hour, minute = _parse_at(at or DEFAULT_DAILY_AT)
        return Interval(
            every="1d",
            minutes=24 * 60,
            at=f"{hour:02d}:{minute:02d}",
            cron=f"{minute} {hour} * * *",
            on_calendar=f"*-*-* {hour:02d}:{minute:02d}:00",
            iso_duration="P1D",
        )
    raise _bad_interval(every)


def _bad_interval(every: str) -> ConfigError:
    return ConfigError(
        f"unsupported interval {every!r}",
        hint="use Nm with N in "
        + ", ".join(map(str, _MINUTES))
        + "; Nh with N in "
        + ", ".join(map(str, _HOURS))
        + "; or 1d / daily (with --at HH:MM), hourly",
    )


def _parse_at(at: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", at.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ConfigError(f"--at {at!r} is not a time of day", hint="use HH:MM, e.g. --at 02:30")
    return int(match.group(1)), int(match.group(2))


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}", hint="use one of: " + ", ".join(ROLES))
    return role


def frota_args(role: str, *, config: str | os.PathLike[str] | None = None) -> list[str]:
    """The arguments after the frota executable for a role: `[--config F] run [--role R]`."""
    args = ["--config", str(config)] if config is not None else []
    return args + list(ROLE_ARGS[_check_role(role)])


def unit_name(role: str) -> str:
    """The name shared by the role's cron marker, systemd units, Windows task and log file."""
    return f"frota-{_check_role(role)}"


def log_path(workdir: str | os.PathLike[str], role: str, *, windows: bool = False) -> PurePath:
    """Where the scheduled run of a role appends its output."""
    base: type[PurePath] = PureWindowsPath if windows else PurePosixPath
    return base(str(workdir)) / "data" / "logs" / f"{unit_name(role)}.log"


def lock_path(workdir: str | os.PathLike[str], role: str) -> PurePosixPath:
    """The flock file that keeps cron runs of a role from overlapping."""
    return PurePosixPath(str(workdir)) / "data" / f"{unit_name(role)}.lock"


def schedule_environment(
    env: Mapping[str, str] | None = None, secrets_file: str | os.PathLike[str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """PATH and the FROTA_* variables worth writing into a schedule, and the secrets left out.

    Returns (kept, omitted names). Secret variables stay out, and a URL loses its password
    (`user:pw@host` → `user@host`): the scheduled run reads secrets from the file that
    FROTA_SECRETS_FILE names (`secrets_file`, when given, sets it).
    """
    env = os.environ if env is None else env
    kept: dict[str, str] = {}
    omitted: list[str] = []
    for name in sorted(env):
        if name != "PATH" and not name.startswith("FROTA_"):
            continue
        value = env[name]
        # FROTA_SECRETS_FILE and friends name a file: a pointer, not a secret.
        if _SECRET_NAME.search(name) and not name.endswith("_FILE"):
            omitted.append(name)
            continue
        if _URL_PASSWORD.match(value):
            value = _URL_PASSWORD.sub(r"\1@", value, count=1)
            omitted.append(f"the password in {name}")
        kept[name] = value
    if secrets_file is not None:
        kept["FROTA_SECRETS_FILE"] = str(secrets_file)
    return kept, omitted


def render(
    role: str,
    every: str,
    fmt: str,
    *,
    frota_bin: str | os.PathLike[str],
    workdir: str | os.PathLike[str],
    config: str | os.PathLike[str] | None = None,
    at: str | None = None,
    env: Mapping[str, str] | None = None,
    secrets_file: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """Render the schedule for a role: {file name: content}.

    cron → `frota-<role>.cron` (one marked crontab entry); systemd → `frota-<role>.service` and
    `frota-<role>.timer`; windows → `frota-<role>.xml` (Task Scheduler) and
    `register-frota-<role>.ps1`. `env` defaults to os.environ (PATH and non-secret FROTA_*
    are copied, never a secret); `secrets_file` is frota's secrets file (TOML, chmod 600),
    passed to the run as FROTA_SECRETS_FILE.
    """
    _check_role(role)
    interval = parse_interval(every, at)
    if fmt not in FORMATS:
        raise ConfigError(
            f"unknown schedule format {fmt!r}", hint="use one of: " + ", ".join(FORMATS)
        )
    windows = fmt == "windows"
    paths = {
        "frota_bin": frota_bin,
        "workdir": workdir,
        "config": config,
        "secrets_file": secrets_file,
    }
    for label, value in paths.items():
        if value is not None:
            _check_absolute(label, value, windows=windows)
    if windows:
        return render_windows(
            role,
            interval,
            frota_bin=frota_bin,
            workdir=workdir,
            config=config,
            secrets_file=secrets_file,
        )
    if fmt == "systemd":
        return render_systemd(
            role,
            interval,
            frota_bin=frota_bin,
            workdir=workdir,
            config=config,
            env=env,
            secrets_file=secrets_file,
        )
    block = render_cron(
        role,
        interval,
        frota_bin=frota_bin,
        workdir=workdir,
        config=config,
        env=env,
        secrets_file=secrets_file,
    )
    return {f"{unit_name(role)}.cron": block}


def _check_absolute(label: str, value: str | os.PathLike[str], *, windows: bool) -> None:
    path = PureWindowsPath(str(value)) if windows else PurePosixPath(str(value))
    if not path.is_absolute():
        example = "C:\\frota\\..." if windows else "/srv/frota/..."
        raise ConfigError(
            f"{label} must be an absolute path, got {str(value)!r}",
            hint=f"schedulers do not start in your shell's folder; give e.g. {example}",
        )


# -- cron ---------------------------------------------------------------------------------


def cron_marker(role: str) -> str:
    """The comment that tags frota's crontab lines for a role (install/uninstall find it)."""
    return f"# frota:{_check_role(role)}"


def render_cron(
    role: str,
    interval: Interval,
    *,
    frota_bin: str | os.PathLike[str],
    workdir: str | os.PathLike[str],
    config: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    secrets_file: str | os.PathLike[str] | None = None,
) -> str:
    """A crontab block: a marker comment line, then the entry (which ends with the marker)."""
    kept, omitted = schedule_environment(env, secrets_file)
    log = log_path(workdir, role)
    lock = lock_path(workdir, role)
    q = shlex.quote
    steps = [f"cd {q(str(workdir))}", f"mkdir -p {q(str(log.parent))}"]
    assignments = " ".join(f"{name}={q(value)}" for name, value in kept.items())
    command = " ".join(q(part) for part in [str(frota_bin), *frota_args(role, config=config)])
    run = f"flock -n {q(str(lock))} {command} >> {q(str(log))} 2>&1"
    steps.append(f"{assignments} {run}" if assignments else run)
    # cron turns an unescaped % into a newline: escape every one.
    line = " && ".join(steps).replace("%", "\\%")
    marker = cron_marker(role)
    header = f"{marker} every {interval.every}"
    if interval.at:
        header += f" at {interval.at}"
    header += f"; managed by `frota schedule --install --role {role}`"
    lines = [header]
    if omitted:
        lines.append(f"{marker} not written here: {', '.join(omitted)}; {_SECRETS_ADVICE}")
    lines.append(f"{interval.cron} {line} {marker}")
    return "\n".join(lines) + "\n"


def _is_managed(line: str, role: str) -> bool:
    marker = re.escape(cron_marker(role))
    return re.search(rf"{marker}(\s|$)", line) is not None


def read_crontab(crontab_bin: str = "crontab") -> str:
    """The current user's crontab ("" when there is none)."""
    try:
        result = subprocess.run(
            [crontab_bin, "-l"], capture_output=True, text=True, check=False, timeout=30
        )
    except FileNotFoundError:
        raise ConfigError(
            f"{crontab_bin!r} not found", hint="install cron (Debian/Ubuntu: apt-get install cron)"
        ) from None
    if result.returncode != 0:
        if "no crontab" in result.stderr.lower():
            return ""
        raise ConfigError(f"crontab -l failed: {result.stderr.strip()}")
    return result.stdout


def write_crontab(content: str, crontab_bin: str = "crontab") -> None:
    """Replace the current user's crontab with `content`."""
    if content and not content.endswith("\n"):
        content += "\n"
    result = subprocess.run(
        [crontab_bin, "-"], input=content, capture_output=True, text=True, check=False, timeout=30
    )
    if result.returncode != 0:
        raise ConfigError(f"crontab could not be written: {result.stderr.strip()}")


def _without_role(content: str, role: str) -> tuple[list[str], list[str]]:
    kept: list[str] = []
    removed: list[str] = []
    for line in content.splitlines():
        (removed if _is_managed(line, role) else kept).append(line)
    return kept, removed


def install_cron(
    role: str,
    every: str,
    *,
    frota_bin: str | os.PathLike[str],
    workdir: str | os.PathLike[str],
    config: str | os.PathLike[str] | None = None,
    at: str | None = None,
    env: Mapping[str, str] | None = None,
    secrets_file: str | os.PathLike[str] | None = None,
    crontab_bin: str = "crontab",
) -> CronChange:
    """Add (or replace) the role's entry in the user's crontab; running it twice changes nothing.

    Lines of other roles and the user's own lines are kept as they are.
    """
    files = render(
        role,
        every,
        "cron",
        frota_bin=frota_bin,
        workdir=workdir,
        config=config,
        at=at,
        env=env,
        secrets_file=secrets_file,
    )
    (block,) = files.values()
    current = read_crontab(crontab_bin)
    kept, removed = _without_role(current, role)
    new_lines = block.splitlines()
    entry = new_lines[-1]
    if removed == new_lines:
        return CronChange(role, "unchanged", entry)
    while kept and not kept[-1].strip():
        kept.pop()
    write_crontab("\n".join([*kept, *new_lines]) + "\n", crontab_bin)
    Path(str(workdir), "data", "logs").mkdir(parents=True, exist_ok=True)
    return CronChange(role, "replaced" if removed else "added", entry)


def uninstall_cron(role: str, *, crontab_bin: str = "crontab") -> CronChange:
    """Remove the role's entry from the user's crontab, keeping every other line."""
    _check_role(role)
    current = read_crontab(crontab_bin)
    kept, removed = _without_role(current, role)
    if not removed:
        return CronChange(role, "absent", None)
    write_crontab("\n".join(kept) + "\n" if kept else "", crontab_bin)
    return CronChange(role, "removed", None)


# -- systemd ------------------------------------------------------------------------------


def _systemd_quote(word: str, *, exec_line: bool = True) -> str:
    """One ExecStart=/Environment= word: specifiers (%) and, in ExecStart, $ kept literal."""
    word = word.replace("%", "%%")
    if exec_line:
        word = word.replace("$", "$$")
    if re.search(r'[\s"\'\\;]', word) or not word:
        word = '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def render_systemd(
    role: str,
    interval: Interval,
    *,
    frota_bin: str | os.PathLike[str],
    workdir: str | os.PathLike[str],
    config: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    secrets_file: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """`frota-<role>.service` (Type=oneshot) and `frota-<role>.timer` (Persistent=true).

    systemd never starts a oneshot service that is still running, so runs cannot overlap.
    """
    name = unit_name(role)
    kept, omitted = schedule_environment(env, secrets_file)
    argv = [str(frota_bin), *frota_args(role, config=config)]
    command = " ".join(argv)
    service = [
        "[Unit]",
        f"Description=frota {role}: {command}".replace("%", "%%"),
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={str(workdir).replace('%', '%%')}",
    ]
    service += [
        f"Environment={_systemd_quote(f'{k}={v}', exec_line=False)}" for k, v in kept.items()
    ]
    if omitted:
        service.append(f"# not written here: {', '.join(omitted)}; {_SECRETS_ADVICE}")
    service += [
        f"ExecStart={' '.join(_systemd_quote(part) for part in argv)}",
        f"TimeoutStartSec={RUN_TIME_LIMIT_HOURS}h",
        "Nice=10",
        "",
    ]
    when = f"every {interval.every}" + (f" at {interval.at}" if interval.at else "")
    timer = [
        "[Unit]",
        f"Description=Run {name}.service {when}",
        "",
        "[Timer]",
        f"OnCalendar={interval.on_calendar}",
        "Persistent=true",
        f"Unit={name}.service",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ]
    return {f"{name}.service": "\n".join(service), f"{name}.timer": "\n".join(timer)}


# -- Windows Task Scheduler ---------------------------------------------------------------


def render_windows(
    role: str,
    interval: Interval,
    *,
    frota_bin: str | os.PathLike[str],
    workdir: str | os.PathLike[str],
    config: str | os.PathLike[str] | None = None,
    secrets_file: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """Task Scheduler XML (`frota-<role>.xml`) and the PowerShell that registers it.

    A task has no environment of its own: the script sets FROTA_SECRETS_FILE for the user.
    """
    name = unit_name(role)
    args = subprocess.list2cmdline(frota_args(role, config=config))
    e = xml_escape
    if interval.minutes < 24 * 60:
        trigger = [
            "    <TimeTrigger>",
            "      <Enabled>true</Enabled>",
            f"      <StartBoundary>{_WINDOWS_ANCHOR_DATE}T00:00:00</StartBoundary>",
            "      <Repetition>",
            f"        <Interval>{interval.iso_duration}</Interval>",
            "        <StopAtDurationEnd>false</StopAtDurationEnd>",
            "      </Repetition>",
            "    </TimeTrigger>",
        ]
    else:
        trigger = [
            "    <CalendarTrigger>",
            "      <Enabled>true</Enabled>",
            f"      <StartBoundary>{_WINDOWS_ANCHOR_DATE}T{interval.at}:00</StartBoundary>",
            "      <ScheduleByDay>",
            "        <DaysInterval>1</DaysInterval>",
            "      </ScheduleByDay>",
            "    </CalendarTrigger>",
        ]
    when = f"every {interval.every}" + (f" at {interval.at}" if interval.at else "")
    xml = [
        '<?xml version="1.0" encoding="UTF-16"?>',
        f'<Task version="1.4" xmlns="{TASK_NAMESPACE}">',
        "  <RegistrationInfo>",
        f"    <Description>{e(f'frota {role}, {when}: frota {args}')}</Description>",
        f"    <URI>{e(TASK_FOLDER + name)}</URI>",
        "  </RegistrationInfo>",
        "  <Triggers>",
        *trigger,
        "  </Triggers>",
        "  <Principals>",
        '    <Principal id="Author">',
        "      <LogonType>InteractiveToken</LogonType>",
        "      <RunLevel>LeastPrivilege</RunLevel>",
        "    </Principal>",
        "  </Principals>",
        "  <Settings>",
        "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>",
        "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>",
        "    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>",
        "    <AllowHardTerminate>true</AllowHardTerminate>",
        "    <StartWhenAvailable>true</StartWhenAvailable>",
        "    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>",
        "    <AllowStartOnDemand>true</AllowStartOnDemand>",
        "    <Enabled>true</Enabled>",
        "    <Hidden>false</Hidden>",
        "    <WakeToRun>false</WakeToRun>",
        f"    <ExecutionTimeLimit>PT{RUN_TIME_LIMIT_HOURS}H</ExecutionTimeLimit>",
        "    <RestartOnFailure>",
        "      <Interval>PT5M</Interval>",
        "      <Count>3</Count>",
        "    </RestartOnFailure>",
        "  </Settings>",
        '  <Actions Context="Author">',
        "    <Exec>",
        f"      <Command>{e(str(frota_bin))}</Command>",
        f"      <Arguments>{e(args)}</Arguments>",
        f"      <WorkingDirectory>{e(str(workdir))}</WorkingDirectory>",
        "    </Exec>",
        "  </Actions>",
        "</Task>",
        "",
    ]
    return {
        f"{name}.xml": "\r\n".join(xml),
        f"register-{name}.ps1": _register_ps1(name, secrets_file),
    }


def _ps_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _register_ps1(name: str, secrets_file: str | os.PathLike[str] | None) -> str:
    lines = [
        f"# Registers the scheduled task {TASK_FOLDER}{name} from {name}.xml (same folder).",
        "#   .\\register-" + name + ".ps1                      # runs while you are logged on",
        "#   .\\register-" + name + ".ps1 -RunWhetherLoggedOn  # asks for the password once",
        "#   .\\register-" + name + ".ps1 -Unregister          # removes the task",
        "param([switch]$RunWhetherLoggedOn, [switch]$Unregister)",
        "$ErrorActionPreference = 'Stop'",
        f"$taskName = '{name}'",
        f"$taskPath = '{TASK_FOLDER}'",
        "if ($Unregister) {",
        "    Unregister-ScheduledTask -TaskName $taskName -TaskPath $taskPath -Confirm:$false",
        "    return",
        "}",
        *(
            [
                "# The task runs with the user's environment: frota finds its secrets from it.",
                "[Environment]::SetEnvironmentVariable('FROTA_SECRETS_FILE', "
                f"{_ps_quote(str(secrets_file))}, 'User')",
            ]
            if secrets_file is not None
            else []
        ),
        f"$xml = Get-Content -LiteralPath (Join-Path $PSScriptRoot '{name}.xml') | Out-String",
        "if ($RunWhetherLoggedOn) {",
        f"    $cred = Get-Credential -Message 'Windows account that runs {name}'",
        "    Register-ScheduledTask -Xml $xml -TaskName $taskName -TaskPath $taskPath `",
        "        -User $cred.UserName -Password $cred.GetNetworkCredential().Password -Force |"
        " Out-Null",
        "} else {",
        "    Register-ScheduledTask -Xml $xml -TaskName $taskName -TaskPath $taskPath -Force |"
        " Out-Null",
        "}",
        "Get-ScheduledTask -TaskName $taskName -TaskPath $taskPath |"
        " Format-List TaskPath, TaskName, State",
        "",
    ]
    return "\r\n".join(lines)


def write_files(files: Mapping[str, str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write rendered files to `out_dir`; Task Scheduler XML goes out as UTF-16, as it declares."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        path = out / name
        if name.endswith(".xml"):
            path.write_bytes(content.encode("utf-16"))  # with BOM, as schtasks exports
        elif name.endswith(".ps1"):
            # UTF-8 with BOM: Windows PowerShell 5.1 reads BOM-less files as the ANSI code page.
            path.write_bytes(b"\xef\xbb\xbf" + content.encode("utf-8"))
        else:
            path.write_text(content, encoding="utf-8", newline="\n")
        written.append(path)
    return written
