"""What every scheduler shares: roles, the command a run executes, its log and lock files,
the environment written into a schedule (never a secret), and where rendered files go."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from frota.config import Settings
from frota.errors import ConfigError
from frota.i18n import _
from frota.orchestrate.schedule.intervals import Interval, parse_interval
from frota.redact import is_secret_name, without_url_password

ROLES = ("source", "server", "analytics", "all", "report")
FORMATS = ("cron", "systemd", "windows")

# What each role runs, after `frota [--config F]`.
ROLE_ARGS: dict[str, tuple[str, ...]] = {
    "source": ("run", "--role", "source"),
    "server": ("run", "--role", "server"),
    "analytics": ("run", "--role", "analytics"),
    "all": ("run",),
    "report": ("report",),  # the fleet report on a schedule of its own (e.g. daily at 07:00)
}

# A run that takes longer than this is stuck; Task Scheduler and systemd stop it (a killed
# load commits nothing, and the next run picks the batch up again).
RUN_TIME_LIMIT_HOURS = 4

SECRETS_ADVICE = "put secrets in a TOML secrets file (chmod 600) named by FROTA_SECRETS_FILE"


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ConfigError(
            _("unknown role {role!r}").format(role=role),
            hint=_("use one of: {choices}").format(choices=", ".join(ROLES)),
        )
    return role


# The roles that publish, and so may take `--from DIR` (the folder of the company's exports).
FROM_DIR_ROLES = ("source", "all")


def frota_args(
    role: str,
    *,
    config: str | os.PathLike[str] | None = None,
    from_dir: str | os.PathLike[str] | None = None,
) -> list[str]:
    """The arguments after the frota executable for a role:
    `[--config F] run [--role R] [--from DIR]`."""
    args = ["--config", str(config)] if config is not None else []
    args += ROLE_ARGS[check_role(role)]
    return args + (["--from", str(from_dir)] if from_dir is not None else [])


def unit_name(role: str) -> str:
    """The name shared by the role's cron marker, systemd units, Windows task and log file."""
    return f"frota-{check_role(role)}"


def log_path(
    workdir: str | os.PathLike[str],
    role: str,
    *,
    log_dir: str | os.PathLike[str] = Settings.log_dir,
    windows: bool = False,
) -> PurePath:
    """Where the scheduled run of a role appends its output: `<log_dir>/frota-<role>.log`, a
    relative `log_dir` (the setting) being relative to the working directory of the runs."""
    base: type[PurePath] = PureWindowsPath if windows else PurePosixPath
    return base(str(workdir)) / base(str(log_dir)) / f"{unit_name(role)}.log"


def create_log_dir(workdir: str | os.PathLike[str], log_dir: str | os.PathLike[str]) -> Path:
    """Create the folder the scheduled runs write their logs to (`log_dir` under `workdir`)."""
    folder = Path(workdir, log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def lock_path(workdir: str | os.PathLike[str], role: str) -> PurePosixPath:
    """The flock file that keeps cron runs of a role from overlapping."""
    return PurePosixPath(str(workdir)) / "data" / f"{unit_name(role)}.lock"


@dataclass(frozen=True)
class Job:
    """What a scheduled run executes: `frota [--config F] run [--role R] [--from DIR]` in
    `workdir`."""

    role: str
    frota_bin: str
    workdir: str
    config: str | None = None
    secrets_file: str | None = None
    log_dir: str = Settings.log_dir
    windows: bool = False
    from_dir: str | None = None  # the exports folder a source run publishes from

    @property
    def name(self) -> str:
        return unit_name(self.role)

    @property
    def argv(self) -> list[str]:
        """The command line: the frota executable, then its arguments."""
        return [
            self.frota_bin,
            *frota_args(self.role, config=self.config, from_dir=self.from_dir),
        ]

    @property
    def log_file(self) -> PurePath:
        return log_path(self.workdir, self.role, log_dir=self.log_dir, windows=self.windows)


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
        if is_secret_name(name) and not name.endswith("_FILE"):
            omitted.append(name)
            continue
        value, had_password = without_url_password(value)
        if had_password:
            omitted.append(f"the password in {name}")
        kept[name] = value
    if secrets_file is not None:
        kept["FROTA_SECRETS_FILE"] = str(secrets_file)
    return kept, omitted


def validate(
    role: str,
    every: str,
    at: str | None,
    *,
    frota_bin: str | os.PathLike[str],
    workdir: str | os.PathLike[str],
    config: str | os.PathLike[str] | None = None,
    secrets_file: str | os.PathLike[str] | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    windows: bool = False,
    from_dir: str | os.PathLike[str] | None = None,
) -> tuple[Job, Interval]:
    """The job and interval of a valid request; ConfigError names a bad role, interval or path."""
    check_role(role)
    if from_dir is not None and role not in FROM_DIR_ROLES:
        raise ConfigError(
            _("--from goes with the roles that publish ({roles}), not {role!r}").format(
                roles=", ".join(FROM_DIR_ROLES), role=role
            )
        )
    interval = parse_interval(every, at)
    paths = {
        "frota_bin": frota_bin,
        "workdir": workdir,
        "config": config,
        "secrets_file": secrets_file,
        "from_dir": from_dir,
    }
    for label, value in paths.items():
        if value is not None:
            check_absolute(label, value, windows=windows)
    job = Job(
        role,
        str(frota_bin),
        str(workdir),
        config=None if config is None else str(config),
        secrets_file=None if secrets_file is None else str(secrets_file),
        log_dir=Settings.log_dir if log_dir is None else str(log_dir),
        windows=windows,
        from_dir=None if from_dir is None else str(from_dir),
    )
    return job, interval


def check_absolute(label: str, value: str | os.PathLike[str], *, windows: bool) -> None:
    path = PureWindowsPath(str(value)) if windows else PurePosixPath(str(value))
    if not path.is_absolute():
        example = "C:\\frota\\..." if windows else "/srv/frota/..."
        raise ConfigError(
            _("{label} must be an absolute path, got {value!r}").format(
                label=label, value=str(value)
            ),
            hint=_("schedulers do not start in your shell's folder; give e.g. {example}").format(
                example=example
            ),
        )


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
