"""Schedule frota with cron, systemd timers or Windows Task Scheduler.

Every scheduler entry runs the command a person would type (`frota [--config F] run --role R`),
in a working directory; nothing here knows how the pipeline works. The renderers are pure
(text in, text out); only `install_cron` / `uninstall_cron` touch the system, through the
`crontab` binary. One module per scheduler (`cron`, `systemd`, `windows`); `common` holds what
they share, `intervals` the `--every` / `--at` parsing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from frota.errors import ConfigError
from frota.i18n import _
from frota.orchestrate.schedule.common import (
    FORMATS,
    ROLES,
    Job,
    create_log_dir,
    frota_args,
    lock_path,
    log_path,
    schedule_environment,
    unit_name,
    validate,
    write_files,
)
from frota.orchestrate.schedule.cron import (
    CronChange,
    install_cron,
    read_crontab,
    render_cron,
    uninstall_cron,
    write_crontab,
)
from frota.orchestrate.schedule.intervals import Interval, parse_interval
from frota.orchestrate.schedule.systemd import render_systemd
from frota.orchestrate.schedule.windows import CMD, TASK_FOLDER, TASK_NAMESPACE, render_windows

__all__ = [
    "CMD",
    "FORMATS",
    "ROLES",
    "TASK_FOLDER",
    "TASK_NAMESPACE",
    "CronChange",
    "create_log_dir",
    "Interval",
    "Job",
    "frota_args",
    "install_cron",
    "lock_path",
    "log_path",
    "parse_interval",
    "read_crontab",
    "render",
    "schedule_environment",
    "uninstall_cron",
    "unit_name",
    "write_crontab",
    "write_files",
]


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
    log_dir: str | os.PathLike[str] | None = None,
    from_dir: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """Render the schedule for a role: {file name: content}.

    cron → `frota-<role>.cron` (one marked crontab entry); systemd → `frota-<role>.service` and
    `frota-<role>.timer`; windows → `frota-<role>.xml` (Task Scheduler) and
    `register-frota-<role>.ps1`. `env` defaults to os.environ (PATH and non-secret FROTA_*
    are copied, never a secret); `secrets_file` is frota's secrets file (TOML, chmod 600),
    passed to the run as FROTA_SECRETS_FILE; the runs append their output to
    `<log_dir>/frota-<role>.log` (`log_dir`: the setting, relative to `workdir` unless absolute).
    `from_dir` (roles source and all): the runs publish the new exports of that folder.
    """
    if fmt not in FORMATS:
        raise ConfigError(
            _("unknown schedule format {fmt!r}").format(fmt=fmt),
            hint=_("use one of: {choices}").format(choices=", ".join(FORMATS)),
        )
    job, interval = validate(
        role,
        every,
        at,
        frota_bin=frota_bin,
        workdir=workdir,
        config=config,
        secrets_file=secrets_file,
        log_dir=log_dir,
        windows=fmt == "windows",
        from_dir=from_dir,
    )
    if fmt == "windows":
        return render_windows(job, interval)
    if fmt == "systemd":
        return render_systemd(job, interval, env)
    return {f"{job.name}.cron": render_cron(job, interval, env)}
