"""systemd: a oneshot service and a persistent timer per role."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePath

from frota.orchestrate.schedule.common import (
    RUN_TIME_LIMIT_HOURS,
    SECRETS_ADVICE,
    Job,
    schedule_environment,
)
from frota.orchestrate.schedule.intervals import Interval


def _systemd_quote(word: str, *, exec_line: bool = True) -> str:
    """One ExecStart=/Environment= word: specifiers (%) and, in ExecStart, $ kept literal."""
    word = word.replace("%", "%%")
    if exec_line:
        word = word.replace("$", "$$")
    if re.search(r'[\s"\'\\;]', word) or not word:
        word = '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def _systemd_path(path: PurePath) -> str:
    """A path for `append:`: specifiers kept literal; systemd takes the rest of the line as is."""
    return str(path).replace("%", "%%")


def render_systemd(
    job: Job, interval: Interval, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """`frota-<role>.service` (Type=oneshot) and `frota-<role>.timer` (Persistent=true).

    systemd never starts a oneshot service that is still running, so runs cannot overlap.
    """
    kept, omitted = schedule_environment(env, job.secrets_file)
    service = [
        "[Unit]",
        f"Description=frota {job.role}: {' '.join(job.argv)}".replace("%", "%%"),
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={job.workdir.replace('%', '%%')}",
    ]
    service += [
        f"Environment={_systemd_quote(f'{k}={v}', exec_line=False)}" for k, v in kept.items()
    ]
    if omitted:
        service.append(f"# not written here: {', '.join(omitted)}; {SECRETS_ADVICE}")
    service += [
        f"ExecStart={' '.join(_systemd_quote(part) for part in job.argv)}",
        # The folder must exist: `frota schedule` creates it (systemd creates only the file).
        f"StandardOutput=append:{_systemd_path(job.log_file)}",
        f"StandardError=append:{_systemd_path(job.log_file)}",
        f"TimeoutStartSec={RUN_TIME_LIMIT_HOURS}h",
        "Nice=10",
        "",
    ]
    when = f"every {interval.every}" + (f" at {interval.at}" if interval.at else "")
    timer = [
        "[Unit]",
        f"Description=Run {job.name}.service {when}",
        "",
        "[Timer]",
        f"OnCalendar={interval.on_calendar}",
        "Persistent=true",
        f"Unit={job.name}.service",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ]
    return {f"{job.name}.service": "\n".join(service), f"{job.name}.timer": "\n".join(timer)}
