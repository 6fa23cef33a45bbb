"""frota's Airflow DAG: publish → wait for batches → load → warehouse → report → health check.

Importable where Apache Airflow 3 is installed (`pip install 'frota[airflow]'` or into your
Airflow environment). Each task calls the same public API as `frota run --role ROLE`; safety
under retries and double runs comes from frota itself (the load ledger + one transaction per
batch, the load lock, the warehouse's replication ledger), not from the scheduler.

Nothing here does I/O at import: settings (Airflow Variables / Connections, then frota.toml,
then FROTA_* environment) are read inside the tasks.

Settings, all optional (embedded defaults otherwise):
- Variable `frota_config`: path of a frota.toml on the workers;
- Variable `frota_settings`: JSON object of settings (`{"landing": "rclone:gdrive:frota"}`);
- Connections `frota_database` / `frota_warehouse` (mysql or postgres): URL and password.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Connection, Param, Variable, dag, get_current_context, task
from airflow.sdk.bases.sensor import PokeReturnValue
from airflow.sdk.exceptions import (
    AirflowFailException,
    AirflowNotFoundException,
    AirflowSkipException,
)

from frota.config import Secret, Settings, airflow_dag_shape, load_settings
from frota.errors import BadInputError, ConfigError, TerminalError
from frota.orchestrate.schedule import parse_interval

DAG_ID = "frota_pipeline"
PUBLISH_MODES = ("generate", "from_dir", "outbox", "off")
# Airflow connection types → SQLAlchemy drivers frota uses.
_DRIVERS = {"mysql": "mysql+pymysql", "postgres": "postgresql+psycopg"}

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "frota",
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
    # Alerts through frota's apprise channels (FROTA_ALERTS on the workers): one when a task
    # fails for good, one when it next succeeds.
    "on_failure_callback": lambda context: alert_on_failure(context),
    "on_success_callback": lambda context: clear_on_success(context),
}


# -- settings -----------------------------------------------------------------------------


def _connection_url(conn_id: str) -> tuple[str, str | None] | None:
    """(SQLAlchemy URL without password, password) of an Airflow connection, if it exists."""
    import sqlalchemy as sa

    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        return None
    driver = _DRIVERS.get(conn.conn_type)
    if driver is None:
        raise ConfigError(
            f"Airflow connection {conn_id!r} has type {conn.conn_type!r}",
            hint="use a mysql or postgres connection, or set the URL in frota_settings",
        )
    url = sa.URL.create(
        driver,
        username=conn.login or None,
        host=conn.host or None,
        port=conn.port or None,
        database=conn.schema or None,
    )
    return url.render_as_string(hide_password=False), conn.password or None


def airflow_settings() -> Settings:
    """frota Settings for a task: defaults < frota.toml < FROTA_* env < Variables/Connections."""
    config = Variable.get("frota_config", default=None)
    overrides = Variable.get("frota_settings", default=None, deserialize_json=True) or {}
    if not isinstance(overrides, dict):
        raise ConfigError("Airflow Variable frota_settings must be a JSON object")
    try:
        settings = load_settings(config, **overrides)
    except TypeError:
        raise ConfigError(
            f"Airflow Variable frota_settings has unknown keys: {', '.join(sorted(overrides))}",
            hint="use the keys of frota.toml (landing, database, warehouse, outbox, source…)",
        ) from None
    database = _connection_url("frota_database")
    if database:
        url, password = database
        settings = settings.with_overrides(
            database=url, database_password=Secret(password) if password else None
        )
    warehouse = _connection_url("frota_warehouse")
    if warehouse:
        url, password = warehouse
        settings = settings.with_overrides(
            warehouse=url, warehouse_password=Secret(password) if password else None
        )
    return settings


def _frota_call(fn: Callable[[], Any]) -> Any:
    """Run a frota call; a TerminalError fails the task at once, anything else (a
    TransientError: the database or the lock may come back) is retried by Airflow."""
    try:
        return fn()
    except TerminalError as exc:
        raise AirflowFailException(str(exc)) from exc


# -- the steps, each a plain function (tested without a scheduler) ------------------------


def publish_step(settings: Settings, mode: str) -> dict[str, Any]:
    """The source machine's step: the new exports of the `exports` folder (`from_dir`,
    = `frota run --role source --from DIR`), generated data (`generate`), only the outbox,
    or nothing.

    In `generate` mode a retry does not simulate another window while the failed attempt's
    folder still waits in the outbox: it publishes that folder (publishing is idempotent).
    In `from_dir` mode a retry publishes only what is not yet published (by content).
    """
    from dataclasses import replace

    from frota.publish import outbox_folders, publish_outbox

    if mode not in PUBLISH_MODES:
        raise ConfigError(f"publish must be one of {', '.join(PUBLISH_MODES)}, got {mode!r}")
    if mode == "from_dir":
        from frota.publish import publish_new_exports

        if not settings.exports:
            raise ConfigError(
                "publish mode from_dir needs the exports setting",
                hint='set "exports" in frota_settings (or frota.toml) to the folder your '
                "export job writes to",
            )
        exports = publish_new_exports(Path(settings.exports), settings)
        if exports.refused:
            folder, why = exports.refused[0]
            raise BadInputError(f"export {folder} refused: {why}")
        results = [p for _, p in exports.published]
    elif mode == "outbox" or outbox_folders(Path(settings.outbox)):
        results = publish_outbox(settings)
    else:
        from frota.orchestrate.run import run_pipeline

        generated = replace(settings, exports="")  # generate mode: synthetic data, as asked
        results = list(run_pipeline(generated, role="source").published or ())
    return {
        "batches": [r.batch_id for r in results],
        "statuses": [r.status for r in results],
    }


def ready_batches(settings: Settings) -> list[str]:
    """Complete batches in the landing area that the ledger does not hold yet, oldest first."""
    from frota.db.connect import connect
    from frota.db.engine import database_engine
    from frota.db.schema import missing_tables
    from frota.landing import open_landing
    from frota.landing.discover import pending_batches
    from frota.load.ledger import loaded_batch_ids

    engine = database_engine(settings)
    try:
        with connect(engine) as conn:
            loaded = set() if missing_tables(conn) else loaded_batch_ids(conn)
    finally:
        engine.dispose()
    landing = open_landing(settings.landing)
    return [c.batch_id for c in pending_batches(landing, loaded) if c.complete]


def load_step(settings: Settings) -> dict[str, Any]:
    """The server's step: `frota run --role server` (load every complete batch exactly once)."""
    from frota.orchestrate.run import run_pipeline

    if settings.database.startswith("sqlite"):
        # The embedded default needs no administrator, as in `frota run`: create the schema.
        from frota.db.engine import database_engine
        from frota.db.migrate import upgrade_schema

        engine = database_engine(settings)
        try:
            upgrade_schema(engine)
        finally:
            engine.dispose()
    loaded = run_pipeline(settings, role="server").loaded
    assert loaded is not None
    return {
        "run_id": loaded.run_id,
        "batches": [b.batch_id for b in loaded.loaded],
        "rows_loaded": loaded.rows_loaded,
        "quarantined": loaded.quarantined,
        "rejected": [r.batch_id for r in loaded.rejected],
        "incomplete": [batch_id for batch_id, _ in loaded.incomplete],
    }


def warehouse_step(settings: Settings) -> dict[str, Any]:
    """The analytics machine's step: `frota run --role analytics` (replicate, dbt build)."""
    from frota.orchestrate.run import run_pipeline

    built = run_pipeline(settings, role="analytics").warehouse
    result = {
        "batches_replicated": built.batches_replicated,
        "models_built": built.models_built,
        "tests_passed": built.tests_passed,
        "tests_failed": built.tests_failed,
    }
    if built.tests_failed:
        raise AirflowFailException(f"dbt: {built.tests_failed} data test(s) failed: {result}")
    return result


def report_step(settings: Settings) -> dict[str, Any]:
    """The analytics machine's last step: the fleet report (`frota report`), where the
    settings say (`report_path`, `report_publish`)."""
    from frota.orchestrate.run import report_step as write_report

    written = write_report(settings)
    result = {
        "path": str(written.path),
        "bytes": written.bytes,
        "published": written.published,
        "unavailable": written.unavailable,
    }
    if written.unavailable:
        raise AirflowFailException(f"the report misses sections: {written.unavailable}")
    return result


def health_step(settings: Settings) -> dict[str, Any]:
    """The health gate: `frota check --role server` (alerts included, the same path as the CLI);
    fails on a CRITICAL check (landing or database down, a rejected batch, a silent source…)."""
    from frota.observe.alerts import ALERTED, report_check
    from frota.observe.check import CRITICAL, run_checks

    report = run_checks(settings, "server")
    report_check(settings, report)
    summary = {r.name: f"{r.status}: {r.summary}" for r in report.results}
    critical = [f"{r.name}: {r.summary}" for r in report.results if r.status == CRITICAL]
    if critical:
        failure = AirflowFailException("; ".join(critical))
        setattr(failure, ALERTED, bool(settings.alerts))  # report_check alerted on each
        raise failure
    return summary


def _task_key(context: Mapping[str, Any]) -> str:
    return f"failed:airflow:{context['task_instance'].task_id}"


def alert_on_failure(context: Mapping[str, Any]) -> None:
    """A task failed: alert through frota's own path, unless frota already did (a frota step
    that fails alerts on its own, with its run id)."""
    from frota.observe.alerts import ALERTED, Problem, report_problems

    exc = context.get("exception")
    cause: BaseException | None = exc
    while cause is not None:
        if getattr(cause, ALERTED, False):
            return
        cause = cause.__cause__ or cause.__context__
    what = f"Airflow task {context['task_instance'].task_id} failed: {exc}"
    report_problems(airflow_settings(), [Problem(_task_key(context), what)], lambda _k: False)


def clear_on_success(context: Mapping[str, Any]) -> None:
    """A task succeeded: its failure alert, if one is open, clears."""
    from frota.observe.alerts import report_problems

    key = _task_key(context)
    report_problems(airflow_settings(), [], lambda k: k == key)


# -- the DAG ------------------------------------------------------------------------------


def build_dag(
    dag_id: str = DAG_ID,
    *,
    every: str = "15m",
    publish: str = "generate",
    wait_timeout: timedelta = timedelta(hours=1),
    poke_interval: timedelta = timedelta(minutes=1),
    queues: Mapping[str, str] | None = None,
) -> Any:
    """Build the frota DAG.

    `every`: as in `frota schedule --every`; `publish`: from_dir (publish each new export in
    the `exports` folder, = `frota run --role source --from DIR`), generate (synthetic data),
    outbox (publish what a source system left in the outbox) or off (batches come from other
    machines); `queues`: Celery/Kubernetes queue per role (`source`, `server`, `analytics`),
    so each step runs on a worker of the machine that has what it needs.
    """
    if publish not in PUBLISH_MODES:
        raise ConfigError(f"publish must be one of {', '.join(PUBLISH_MODES)}, got {publish!r}")
    queues = dict(queues or {})

    def on(role: str) -> dict[str, Any]:
        return {"queue": queues[role]} if role in queues else {}

    @dag(
        dag_id=dag_id,
        schedule=parse_interval(every).cron,
        start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params={"publish": Param(publish, enum=list(PUBLISH_MODES))},
        tags=["frota"],
        doc_md=__doc__,
    )
    def frota_pipeline() -> None:
        @task(**on("source"))
        def publish_batches() -> dict[str, Any]:
            mode = get_current_context()["params"]["publish"]
            if mode == "off":
                raise AirflowSkipException("publish is off: batches come from elsewhere")
            return _frota_call(lambda: publish_step(airflow_settings(), mode))

        @task.sensor(
            poke_interval=poke_interval,
            timeout=wait_timeout,
            mode="reschedule",
            soft_fail=True,  # nothing new in time: skip load and warehouse, still check health
            trigger_rule="none_failed",  # runs when publish was skipped
            **on("server"),
        )
        def wait_for_batches() -> PokeReturnValue:
            ready = _frota_call(lambda: ready_batches(airflow_settings()))
            return PokeReturnValue(is_done=bool(ready), xcom_value=ready)

        @task(**on("server"))
        def load() -> dict[str, Any]:
            return _frota_call(lambda: load_step(airflow_settings()))

        @task(**on("analytics"))
        def warehouse() -> dict[str, Any]:
            return _frota_call(lambda: warehouse_step(airflow_settings()))

        @task(**on("analytics"))
        def report() -> dict[str, Any]:
            return _frota_call(lambda: report_step(airflow_settings()))

        @task(trigger_rule="none_failed", retries=0, **on("server"))
        def health_check() -> dict[str, Any]:
            return _frota_call(lambda: health_step(airflow_settings()))

        (
            publish_batches()
            >> wait_for_batches()
            >> load()
            >> warehouse()
            >> report()
            >> health_check()
        )

    return frota_pipeline()


def _queues_from_env(value: str | None) -> dict[str, str]:
    """`source=q1,server=q2` → {"source": "q1", "server": "q2"}."""
    pairs = (item.split("=", 1) for item in (value or "").split(",") if "=" in item)
    return {role.strip(): queue.strip() for role, queue in pairs}


# The DAG Airflow finds. Environment variables only (no I/O) tune it per deployment.
_SHAPE = airflow_dag_shape()
frota_dag = build_dag(
    every=_SHAPE["every"], publish=_SHAPE["publish"], queues=_queues_from_env(_SHAPE["queues"])
)
