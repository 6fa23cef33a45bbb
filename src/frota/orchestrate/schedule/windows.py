"""Windows Task Scheduler: a task XML per role and the PowerShell script that registers it."""

from __future__ import annotations

import subprocess
from xml.sax.saxutils import escape as xml_escape

from frota.errors import ConfigError
from frota.i18n import _
from frota.orchestrate.schedule.common import RUN_TIME_LIMIT_HOURS, Job, frota_args
from frota.orchestrate.schedule.intervals import Interval

TASK_NAMESPACE = "http://schemas.microsoft.com/windows/2004/02/mit/task"
TASK_FOLDER = "\\frota\\"
# Calendar anchor for Windows triggers: a fixed past date, so "every 15 minutes" fires at
# :00/:15/:30/:45 like cron, and the output does not depend on when it was rendered.
_WINDOWS_ANCHOR_DATE = "2025-01-01"
# The task runs frota through cmd.exe, the one Windows shell that appends a program's output to
# a file byte for byte (Task Scheduler expands the variable).
CMD = "%SystemRoot%\\System32\\cmd.exe"


def render_windows(job: Job, interval: Interval) -> dict[str, str]:
    """Task Scheduler XML (`frota-<role>.xml`) and the PowerShell that registers it.

    A task has no environment of its own: the script sets FROTA_SECRETS_FILE for the user.
    """
    return {
        f"{job.name}.xml": "\r\n".join(_task_xml(job, interval)),
        f"register-{job.name}.ps1": _register_ps1(job.name, job.secrets_file),
    }


def cmd_line(job: Job) -> str:
    """cmd.exe's arguments for the task: create the log folder, then run frota with its output
    (stdout and stderr) appended to the log file, exiting with frota's exit code.

    A task's own action has no redirection, so without cmd.exe its output would be lost. Every
    path is quoted (cmd.exe treats `&`, `(`, `^`… in a path as syntax otherwise); with `/s`
    cmd.exe strips only the outer pair of quotes.
    """
    for label, value in (
        ("frota_bin", job.frota_bin),
        ("workdir", job.workdir),
        ("config", job.config),
        ("log_dir", job.log_dir),
        ("from_dir", job.from_dir),
    ):
        if value and "%" in value:
            raise ConfigError(
                _("{label} {value!r} holds a %, which Windows expands as a variable").format(
                    label=label, value=value
                ),
                hint=_("use a path without %"),
            )
    log = job.log_file
    args = frota_args(
        job.role,
        config=None if job.config is None else f'"{job.config}"',
        from_dir=None if job.from_dir is None else f'"{job.from_dir}"',
    )
    run = " ".join([f'"{job.frota_bin}"', *args, ">>", f'"{log}"', "2>&1"])
    return f'/d /s /c "mkdir "{log.parent}" 2>nul & {run}"'


def _task_xml(job: Job, interval: Interval) -> list[str]:
    """The task's lines, in the order Task Scheduler's schema (version 1.4) requires."""
    e = xml_escape
    args = subprocess.list2cmdline(job.argv[1:])
    when = f"every {interval.every}" + (f" at {interval.at}" if interval.at else "")
    return [
        '<?xml version="1.0" encoding="UTF-16"?>',
        f'<Task version="1.4" xmlns="{TASK_NAMESPACE}">',
        "  <RegistrationInfo>",
        f"    <Description>{e(f'frota {job.role}, {when}: frota {args}')}</Description>",
        f"    <URI>{e(TASK_FOLDER + job.name)}</URI>",
        "  </RegistrationInfo>",
        "  <Triggers>",
        *_trigger(interval),
        "  </Triggers>",
        "  <Principals>",
        '    <Principal id="Author">',
        "      <LogonType>InteractiveToken</LogonType>",
        "      <RunLevel>LeastPrivilege</RunLevel>",
        "    </Principal>",
        "  </Principals>",
        *_SETTINGS,
        '  <Actions Context="Author">',
        "    <Exec>",
        f"      <Command>{CMD}</Command>",
        f"      <Arguments>{e(cmd_line(job))}</Arguments>",
        f"      <WorkingDirectory>{e(job.workdir)}</WorkingDirectory>",
        "    </Exec>",
        "  </Actions>",
        "</Task>",
        "",
    ]


def _trigger(interval: Interval) -> list[str]:
    """Repeat from the anchor every interval, or once a day at `interval.at`."""
    if interval.minutes < 24 * 60:
        return [
            "    <TimeTrigger>",
            "      <Enabled>true</Enabled>",
            f"      <StartBoundary>{_WINDOWS_ANCHOR_DATE}T00:00:00</StartBoundary>",
            "      <Repetition>",
            f"        <Interval>{interval.iso_duration}</Interval>",
            "        <StopAtDurationEnd>false</StopAtDurationEnd>",
            "      </Repetition>",
            "    </TimeTrigger>",
        ]
    return [
        "    <CalendarTrigger>",
        "      <Enabled>true</Enabled>",
        f"      <StartBoundary>{_WINDOWS_ANCHOR_DATE}T{interval.at}:00</StartBoundary>",
        "      <ScheduleByDay>",
        "        <DaysInterval>1</DaysInterval>",
        "      </ScheduleByDay>",
        "    </CalendarTrigger>",
    ]


# Never two runs at once, catch up after the machine was off, stop a stuck run, retry a
# failed one three times, five minutes apart.
_SETTINGS = (
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
)


def _ps_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _register_ps1(name: str, secrets_file: str | None) -> str:
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
                f"{_ps_quote(secrets_file)}, 'User')",
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
