"""cron: one crontab entry per role, tagged `# frota:<role>`; install and uninstall through the
`crontab` binary, touching only the tagged lines."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from frota.errors import ConfigError
from frota.i18n import _
from frota.orchestrate.schedule.common import (
    SECRETS_ADVICE,
    Job,
    check_role,
    create_log_dir,
    lock_path,
    schedule_environment,
    validate,
)
from frota.orchestrate.schedule.intervals import Interval


@dataclass(frozen=True)
class CronChange:
    """What `install_cron` / `uninstall_cron` did to the user's crontab."""

    role: str
    action: str  # "added", "replaced", "unchanged", "removed", "absent"
    entry: str | None  # the managed line now in the crontab (None after uninstall)

    @property
    def changed(self) -> bool:
        return self.action in ("added", "replaced", "removed")


def cron_marker(role: str) -> str:
    """The comment that tags frota's crontab lines for a role (install/uninstall find it)."""
    return f"# frota:{check_role(role)}"


def render_cron(job: Job, interval: Interval, env: Mapping[str, str] | None = None) -> str:
    """A crontab block: a marker comment line, then the entry (which ends with the marker)."""
    kept, omitted = schedule_environment(env, job.secrets_file)
    log = job.log_file
    lock = lock_path(job.workdir, job.role)
    q = shlex.quote
    folders = [log.parent]
    if lock.parent not in log.parents:  # the log folder may live elsewhere (log_dir)
        folders.append(lock.parent)
    steps = [f"cd {q(job.workdir)}", "mkdir -p " + " ".join(q(str(f)) for f in folders)]
    assignments = " ".join(f"{name}={q(value)}" for name, value in kept.items())
    command = " ".join(q(part) for part in job.argv)
    run = f"flock -n {q(str(lock))} {command} >> {q(str(log))} 2>&1"
    steps.append(f"{assignments} {run}" if assignments else run)
    # cron turns an unescaped % into a newline: escape every one.
    line = " && ".join(steps).replace("%", "\\%")
    marker = cron_marker(job.role)
    header = f"{marker} every {interval.every}"
    if interval.at:
        header += f" at {interval.at}"
    header += f"; managed by `frota schedule --install --role {job.role}`"
    lines = [header]
    if omitted:
        lines.append(f"{marker} not written here: {', '.join(omitted)}; {SECRETS_ADVICE}")
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
            _("{crontab_bin!r} not found").format(crontab_bin=crontab_bin),
            hint=_("install cron (Debian/Ubuntu: apt-get install cron)"),
        ) from None
    if result.returncode != 0:
        if "no crontab" in result.stderr.lower():
            return ""
        raise ConfigError(_("crontab -l failed: {error}").format(error=result.stderr.strip()))
    return result.stdout


def write_crontab(content: str, crontab_bin: str = "crontab") -> None:
    """Replace the current user's crontab with `content`."""
    if content and not content.endswith("\n"):
        content += "\n"
    result = subprocess.run(
        [crontab_bin, "-"], input=content, capture_output=True, text=True, check=False, timeout=30
    )
    if result.returncode != 0:
        message = _("crontab could not be written: {error}")
        raise ConfigError(message.format(error=result.stderr.strip()))


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
    log_dir: str | os.PathLike[str] | None = None,
    from_dir: str | os.PathLike[str] | None = None,
    crontab_bin: str = "crontab",
) -> CronChange:
    """Add (or replace) the role's entry in the user's crontab; running it twice changes nothing.

    Lines of other roles and the user's own lines are kept as they are.
    """
    job, interval = validate(
        role,
        every,
        at,
        frota_bin=frota_bin,
        workdir=workdir,
        config=config,
        secrets_file=secrets_file,
        log_dir=log_dir,
        from_dir=from_dir,
    )
    block = render_cron(job, interval, env)
    current = read_crontab(crontab_bin)
    kept, removed = _without_role(current, role)
    new_lines = block.splitlines()
    entry = new_lines[-1]
    if removed == new_lines:
        return CronChange(role, "unchanged", entry)
    while kept and not kept[-1].strip():
        kept.pop()
    write_crontab("\n".join([*kept, *new_lines]) + "\n", crontab_bin)
    create_log_dir(job.workdir, job.log_dir)
    return CronChange(role, "replaced" if removed else "added", entry)


def uninstall_cron(role: str, *, crontab_bin: str = "crontab") -> CronChange:
    """Remove the role's entry from the user's crontab, keeping every other line."""
    check_role(role)
    current = read_crontab(crontab_bin)
    kept, removed = _without_role(current, role)
    if not removed:
        return CronChange(role, "absent", None)
    write_crontab("\n".join(kept) + "\n" if kept else "", crontab_bin)
    return CronChange(role, "removed", None)
