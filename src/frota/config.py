"""One Settings object: defaults < `frota.toml` < `FROTA_*` environment < command-line flags.

Secrets (database passwords) come from the environment or a separate secrets file, never
from `frota.toml`; they are typed as `Secret` so they print as `***`. This is the one module
that reads the environment: every step takes `Settings`, and nothing below reads `os.environ`.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from frota.contract.tabular import FilePolicy
from frota.errors import ConfigError, MissingExtra
from frota.i18n import N_, _
from frota.thresholds import KEYS as CHECK_KEYS
from frota.thresholds import check_table, parse_duration

CONFIG_FILE = "frota.toml"


def _user_cache_dir() -> str:
    """`$XDG_CACHE_HOME/frota`, else `~/.cache/frota`: where per-warehouse dbt folders live."""
    return str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "frota")


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Settings:
    """Everything a frota command needs to know about its environment."""

    landing: str = "data/landing"
    database: str = "sqlite:///data/frota.db"
    warehouse: str = "duckdb:///data/warehouse.duckdb"
    outbox: str = "data/outbox"
    # The folder the company's own export job writes to: `frota run --role source` (and
    # `all`) publish each new export found there instead of generating synthetic data
    # (frota.publish.exports_dir); an export is taken once unchanged for exports_settle_seconds.
    exports: str = ""
    exports_settle_seconds: int = 60
    source: str = "local"
    seed: int = 7
    vehicles: int = 200
    log_dir: str = "data/logs"
    # Run history older than this is deleted (frota.observe.runs); a duration: 90d, 12w…
    runs_retention: str = "90d"
    # The JSON-lines log in log_dir rotates at log_max_bytes, keeping log_backups old files.
    log_max_bytes: int = 10 * 1024**2
    log_backups: int = 5
    # Retry budget for transient database errors (see frota.load.retry).
    retry_attempts: int = 6
    retry_max_seconds: float = 60.0
    # TLS to the operational database: applied where the engine is created (frota.db.engine).
    db_ssl_ca: str | None = None
    db_ssl_cert: str | None = None
    db_ssl_key: str | None = None
    db_ssl_verify_identity: bool = True
    require_tls: bool = False  # refuse a non-loopback host without verified TLS
    # Bad input policy (docs/data-contract.md): a file above max_file_bytes is refused before
    # parsing; a file with more than error_threshold (a fraction) AND more than
    # error_threshold_rows bad rows is rejected whole. The defaults are the contract's own.
    max_file_bytes: int = FilePolicy.max_file_bytes
    error_threshold: float = FilePolicy.error_threshold
    error_threshold_rows: int = FilePolicy.error_threshold_rows
    allow_extra_columns: bool = FilePolicy.allow_extra_columns
    # A snapshot export that would retire more than this share of its source's stored
    # maintenances of its period is rejected, unless published with --allow-retire.
    snapshot_max_retire_share: float = FilePolicy.snapshot_max_retire_share
    # MySQL/MariaDB bulk path. "allow-server-file-requests" turns on LOAD DATA LOCAL INFILE:
    # the protocol lets the server ask for any client file; frota answers only its own
    # statement, with rows it holds in memory, over loopback or verified TLS only (see
    # frota.load.bulk). Default: "off".
    mysql_local_infile: str = "off"
    # [categories.<column>] of frota.toml as (column, the company's word, canonical category).
    categories: tuple[tuple[str, str, str], ...] = ()
    # A dbt project of the user's own that `frota warehouse` builds instead of the shipped one
    # (`frota warehouse init-project DIR` writes one; frota.warehouse.project). Empty: shipped.
    warehouse_project: str = ""
    # Language of messages and help (frota.i18n): "en", "pt-BR"; empty: the locale (LANG).
    language: str = ""
    # [check] of frota.toml / FROTA_CHECK_<KEY>: thresholds of `frota check`, as text pairs
    # (frota.thresholds).
    check: tuple[tuple[str, str], ...] = ()
    # dbt's work folders (profile, target/, logs), one per warehouse; a user cache by default.
    cache_dir: str = field(default_factory=_user_cache_dir)
    # The operator's time zone (IANA name): the warehouse counts days, months and the fleet's
    # daily status on this local calendar, not on UTC's.
    timezone: str = "America/Sao_Paulo"
    # The fleet report (frota report, the last step of `frota run` on the analytics role):
    # where it is written, and whether a copy also goes to the landing area's reports/.
    report_path: str = "data/relatorio.html"
    report_publish: bool = False
    # The secrets below are never read from frota.toml.
    database_password: Secret | None = field(default=None, repr=False)
    warehouse_password: Secret | None = field(default=None, repr=False)
    # Apprise URLs, one per alert channel: secrets too (they hold tokens and passwords).
    alerts: tuple[Secret, ...] = field(default=(), repr=False)
    config_file: str | None = None

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with the non-None values replaced (flags beat everything)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    def db_password(self) -> str | None:
        return self.database_password.get() if self.database_password else None

    def wh_password(self) -> str | None:
        return self.warehouse_password.get() if self.warehouse_password else None

    def alert_urls(self) -> tuple[str, ...]:
        return tuple(url.get() for url in self.alerts)

    def secret_values(self) -> tuple[str, ...]:
        """The secrets' values, for frota.redact to mask wherever they might show."""
        from frota.redact import url_secrets

        values = [s.get() for s in (self.database_password, self.warehouse_password) if s]
        for url in self.alert_urls():
            values += url_secrets(url)
        return tuple(values)


# Keys a user may set in frota.toml / FROTA_<KEY>; secrets are handled separately.
_NOT_PLAIN = {
    "database_password",
    "warehouse_password",
    "alerts",
    "config_file",
    "categories",
    "check",
}
_PLAIN_KEYS = {f.name: f.type for f in fields(Settings) if f.name not in _NOT_PLAIN}
_INT_KEYS = {
    "seed",
    "vehicles",
    "exports_settle_seconds",
    "retry_attempts",
    "max_file_bytes",
    "error_threshold_rows",
    "log_max_bytes",
    "log_backups",
}
_FLOAT_KEYS = {"retry_max_seconds", "error_threshold", "snapshot_max_retire_share"}
_BOOL_KEYS = {"db_ssl_verify_identity", "require_tls", "allow_extra_columns", "report_publish"}
_SECRET_KEYS = {"database_password", "warehouse_password", "alerts"}


def _coerce(key: str, value: Any, where: str) -> Any:
    if key in _INT_KEYS:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(
                _("{where}: {key} must be a whole number, got {value!r}").format(
                    where=where, key=key, value=value
                )
            ) from None
    if key in _FLOAT_KEYS:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                _("{where}: {key} must be a number, got {value!r}").format(
                    where=where, key=key, value=value
                )
            ) from None
    if key in _BOOL_KEYS:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(
            _("{where}: {key} must be true or false, got {value!r}").format(
                where=where, key=key, value=value
            )
        )
    if not isinstance(value, str):
        raise ConfigError(
            _("{where}: {key} must be a string, got {value!r}").format(
                where=where, key=key, value=value
            )
        )
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(_("config file {path} not found").format(path=path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_("{path}: not valid TOML: {exc}").format(path=path, exc=exc)) from None
    categories = _read_categories(data.pop("categories", {}), path)
    check = data.pop("check", {})
    if not isinstance(check, dict):
        raise ConfigError(_("{path}: [check] must be a table of thresholds").format(path=path))
    flat = dict(data.pop("frota", {}))
    flat.update({k: v for k, v in data.items() if not isinstance(v, dict)})
    for key in _SECRET_KEYS:
        if key in flat:
            raise ConfigError(
                _("{path}: {key} must not be in the config file").format(path=path, key=key),
                hint=_("set {variable} or put it in a secrets file (FROTA_SECRETS_FILE)").format(
                    variable="FROTA_" + key.upper()
                ),
            )
    unknown = sorted(set(flat) - set(_PLAIN_KEYS))
    if unknown:
        raise ConfigError(
            _("{path}: unknown setting(s) {settings}").format(
                path=path, settings=", ".join(unknown)
            ),
            hint=_("known settings: {settings}").format(settings=", ".join(sorted(_PLAIN_KEYS))),
        )
    values = {k: _coerce(k, v, str(path)) for k, v in flat.items()}
    if categories:
        values["categories"] = categories
    if check:
        values["check"] = check_table(check, str(path))
    return values


def _read_categories(table: Any, path: Path) -> tuple[tuple[str, str, str], ...]:
    """`[categories.<column>]` tables of `"word" = "category"` (see frota.contract.categories)."""
    from frota.contract.categories import check_overrides

    if not isinstance(table, dict):
        raise ConfigError(_("{path}: [categories] must be a table").format(path=path))
    triples: list[tuple[str, str, str]] = []
    for column, words in table.items():
        if not isinstance(words, dict):
            raise ConfigError(
                _("{path}: [categories.{column}] must be a table of word = category").format(
                    path=path, column=column
                )
            )
        triples += [(column, str(word), str(category)) for word, category in words.items()]
    try:
        return check_overrides(triples)
    except ValueError as exc:
        raise ConfigError(_("{path}: [categories] {exc}").format(path=path, exc=exc)) from None


def read_secrets_file(path: Path) -> dict[str, Secret]:
    """Secrets from a TOML file that only its owner may read (like ssh keys)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(_("secrets file {path} not found").format(path=path)) from None
    if sys.platform != "win32" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            _("secrets file {path} is readable by other users").format(path=path),
            hint=_("chmod 600 {path}").format(path=path),
        )
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError:
        # Never echo the parser's message: it may quote the secret itself.
        raise ConfigError(_("secrets file {path} is not valid TOML").format(path=path)) from None
    unknown = sorted(set(data) - _SECRET_KEYS)
    if unknown:
        message = _("secrets file {path}: unknown key(s) {keys}")
        raise ConfigError(message.format(path=path, keys=", ".join(unknown)))
    secrets: dict[str, Any] = {k: Secret(str(v)) for k, v in data.items() if k != "alerts"}
    if "alerts" in data:
        urls = data["alerts"]
        secrets["alerts"] = _alert_urls(" ".join(urls) if isinstance(urls, list) else str(urls))
    return secrets


def _alert_urls(text: str) -> tuple[Secret, ...]:
    """Apprise URLs separated by spaces, new lines or commas (a comma inside a URL's query,
    as in `mailto://…?to=a@x,b@y`, stays in it)."""
    parts = re.split(r"\s+|,(?=\s*[A-Za-z][A-Za-z0-9+.-]*://)", text)
    return tuple(Secret(p.strip()) for p in parts if p and p.strip())


def load_settings(
    config: str | Path | None = None,
    env: dict[str, str] | None = None,
    **flags: Any,
) -> Settings:
    """Settings from defaults, then the config file, then FROTA_* env vars, then `flags`.

    `config` defaults to FROTA_CONFIG, then `./frota.toml` if it exists.
    """
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    config_path = config or env.get("FROTA_CONFIG")
    if config_path is None and Path(CONFIG_FILE).is_file():
        config_path = CONFIG_FILE
    if config_path:
        values.update(_read_toml(Path(config_path)))
        values["config_file"] = str(config_path)
    for key in _PLAIN_KEYS:
        env_value = env.get(f"FROTA_{key.upper()}")
        if env_value:
            values[key] = _coerce(key, env_value, f"FROTA_{key.upper()}")
    secrets_file = env.get("FROTA_SECRETS_FILE")
    if secrets_file:
        values.update(read_secrets_file(Path(secrets_file)))
    for key in _SECRET_KEYS - {"alerts"}:
        env_value = env.get(f"FROTA_{key.upper()}")
        if env_value:
            values[key] = Secret(env_value)
    if env.get("FROTA_ALERTS"):
        values["alerts"] = _alert_urls(env["FROTA_ALERTS"])
    _check_from_env(env, values)
    values.update({k: v for k, v in flags.items() if v is not None})
    settings = Settings(**values)
    _validate_observability(settings)
    return settings


def _check_from_env(env: Mapping[str, str], values: dict[str, Any]) -> None:
    """`FROTA_CHECK_<KEY>` beats `[check]` of frota.toml."""
    names = {key: f"FROTA_CHECK_{key.upper()}" for key in CHECK_KEYS}
    given = {key: env[name] for key, name in names.items() if env.get(name)}
    if given:
        merged = dict(values.get("check", ())) | dict(check_table(given, "environment"))
        values["check"] = tuple(merged.items())


def _validate_observability(settings: Settings) -> None:
    """A retention, log size or alert URL that cannot work is a configuration error now, not
    at the failure it would hide."""
    if parse_duration(settings.runs_retention, "runs_retention").total_seconds() <= 0:
        raise ConfigError(_("runs_retention must be longer than zero"))
    if settings.log_max_bytes < 1024 or settings.log_backups < 1:
        raise ConfigError(_("log_max_bytes must be at least 1024 and log_backups at least 1"))
    _check_alert_urls(settings.alert_urls())


def _check_alert_urls(urls: tuple[str, ...]) -> None:
    """Every alert URL must be one apprise can use (scheme known, parts present)."""
    if not urls:
        return
    try:
        import apprise
    except ImportError:
        raise MissingExtra("apprise", "alerts") from None
    for index, url in enumerate(urls, 1):
        scheme = url.split("://", 1)[0].lower() if "://" in url else None
        # Never the URL itself in the message: it holds the channel's token or password.
        where = f"alerts: channel {index} ({scheme or 'no scheme'})"
        if scheme is None:
            raise ConfigError(_("{where} is not a URL").format(where=where), hint=_(_ALERTS_HINT))
        if apprise.Apprise.instantiate(url) is None:
            raise ConfigError(
                _(
                    "{where}: apprise does not understand this URL (an unknown scheme, or "
                    "a part missing)"
                ).format(where=where),
                hint=_(_ALERTS_HINT),
            )


_ALERTS_HINT = N_(
    "write one apprise URL per channel, e.g. mailto://user:pass@smtp.example.com?to=ops@x "
    "(the URL of each service: https://github.com/caronc/apprise/wiki)"
)


def airflow_dag_shape(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Airflow DAG's shape, read when Airflow parses it: `FROTA_AIRFLOW_EVERY` (default
    15m), `FROTA_AIRFLOW_PUBLISH` (generate) and `FROTA_AIRFLOW_QUEUES` (docs/deployment.md)."""
    env = os.environ if env is None else env
    return {
        "every": env.get("FROTA_AIRFLOW_EVERY", "15m"),
        "publish": env.get("FROTA_AIRFLOW_PUBLISH", "generate"),
        "queues": env.get("FROTA_AIRFLOW_QUEUES", ""),
    }
