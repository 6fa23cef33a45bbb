"""The Airflow DAG, tested with Apache Airflow installed (scripts/airflow-test.sh builds that
environment): DAG files import cleanly with no I/O, the structure is right, the sensor sees
only complete unloaded batches, `dag.test()` runs the whole pipeline on embedded defaults,
and retries / double runs change nothing."""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

# This folder is named `airflow` too: on sys.path it looks like a namespace package (no
# origin), which is not Apache Airflow.
_spec = importlib.util.find_spec("airflow")
if _spec is None or _spec.origin is None:
    pytest.skip(
        "Apache Airflow is not installed (run scripts/airflow-test.sh)", allow_module_level=True
    )

REPO = Path(__file__).resolve().parents[2]
REPO_DAGS = REPO / "dags"
TEST_DAG_ID = "frota_pipeline_quick"

# Airflow reads its configuration when first imported: point it at a private home first.
_HOME = Path(os.environ.get("AIRFLOW_HOME") or tempfile.mkdtemp(prefix="frota-airflow-"))
_DAGS = _HOME / "dags"
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_DAGS)
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")

import duckdb  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from frota.config import load_settings  # noqa: E402
from frota.errors import LandingError  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def airflow_home():
    """An Airflow metadata DB on SQLite, and a DAGs folder holding the repo's DAG file plus a
    quick variant (short sensor timeout) for the double-run test."""
    _DAGS.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_DAGS / "frota_pipeline.py", _DAGS / "frota_pipeline.py")
    (_DAGS / "frota_pipeline_quick.py").write_text(
        textwrap.dedent(
            f"""
            from datetime import timedelta
            from frota.orchestrate.airflow_dag import build_dag

            quick = build_dag(
                "{TEST_DAG_ID}", wait_timeout=timedelta(seconds=4),
                poke_interval=timedelta(seconds=1),
            )
            """
        )
    )
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run(
        [str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy()
    )
    return _HOME


@pytest.fixture(scope="module")
def airflow_dag_module():
    from frota.orchestrate import airflow_dag

    return airflow_dag


def stored_orders(workdir: Path) -> set[str]:
    """The work orders (id_origem) the operational DB holds."""
    engine = sa.create_engine(f"sqlite:///{workdir / 'data' / 'frota.db'}")
    with engine.connect() as conn:
        found = {r[0] for r in conn.execute(sa.text("select id_origem from manutencoes"))}
    engine.dispose()
    return found


def counts(workdir: Path) -> dict[str, int]:
    """Rows in the operational DB and the warehouse of an embedded-defaults run."""
    engine = sa.create_engine(f"sqlite:///{workdir / 'data' / 'frota.db'}")
    with engine.connect() as conn:
        out = {
            name: conn.execute(sa.text(f"select count(*) from {name}")).scalar_one()
            for name in ("veiculos", "manutencoes", "frota_veiculos_historico")
        }
        out["ledger"] = conn.execute(sa.text("select count(*) from frota_batches")).scalar_one()
    engine.dispose()
    warehouse = workdir / "data" / "warehouse.duckdb"
    if warehouse.exists():
        with duckdb.connect(str(warehouse), read_only=True) as wh:
            for table in (
                "raw.frota_veiculos_historico",
                "raw.manutencoes",
                "analytics.fct_manutencoes",
                "analytics.dim_veiculos",
                "analytics.mart_custo_veiculo_mes",
            ):
                out[table] = wh.execute(f"select count(*) from {table}").fetchall()[0][0]
    return out


def task_states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


# -- parsing ------------------------------------------------------------------------------


def test_every_dag_file_imports_cleanly():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_DAGS))
    assert bag.import_errors == {}
    assert "frota_pipeline" in bag.dag_ids
    assert len(bag.dags) == len(list(REPO_DAGS.glob("*.py")))


NO_IO_PROBE = """
import builtins, io, os, runpy, socket, sqlite3, subprocess, sys
# Airflow's own start-up is not ours to police (croniter runs `file` once at import).
import airflow.sdk, croniter
from airflow.sdk import Connection, Variable
import duckdb, sqlalchemy

calls = []
def forbid(what):
    def fail(*args, **kwargs):
        calls.append(what)
        raise RuntimeError("DAG parsing must not " + what)
    return fail

socket.socket.connect = forbid("open a socket")
socket.create_connection = forbid("open a socket")
sqlite3.connect = forbid("open sqlite")
duckdb.connect = forbid("open duckdb")
subprocess.Popen.__init__ = forbid("start a process")
sqlalchemy.create_engine = forbid("create an engine")
Variable.get = staticmethod(forbid("read a Variable"))
Connection.get = staticmethod(forbid("read a Connection"))
real_open = builtins.open
def guarded_open(file, mode="r", *args, **kwargs):
    path = os.path.abspath(str(file))
    if not path.startswith(sys.prefix) and not path.startswith(sys.base_prefix):
        calls.append("open " + path)
    return real_open(file, mode, *args, **kwargs)
builtins.open = guarded_open
io.open = guarded_open

namespace = runpy.run_path(sys.argv[1])
assert not calls, calls
print("DAG", namespace["frota_dag"].dag_id)
"""


def test_parsing_the_dag_file_does_no_io_and_opens_no_connection(tmp_path):
    env = {**os.environ, "FROTA_DATABASE": "mysql+pymysql://nobody@203.0.113.1/none"}
    result = subprocess.run(
        [sys.executable, "-c", NO_IO_PROBE, str(REPO_DAGS / "frota_pipeline.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "DAG frota_pipeline" in result.stdout
    assert not (tmp_path / "data").exists()  # nothing created in the working folder


# -- structure ----------------------------------------------------------------------------


def test_dag_structure(airflow_dag_module):
    dag = airflow_dag_module.frota_dag
    assert dag.dag_id == "frota_pipeline"
    order = ["publish_batches", "wait_for_batches", "load", "warehouse", "report", "health_check"]
    assert [t.task_id for t in dag.topological_sort()] == order
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert dag.get_task(upstream).downstream_task_ids == {downstream}
    assert dag.start_date.tzinfo is not None
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.timetable.expression == "*/15 * * * *"
    assert dag.params["publish"] == "generate"
    sensor = dag.get_task("wait_for_batches")
    assert sensor.mode == "reschedule"
    assert sensor.soft_fail is True
    assert sensor.trigger_rule == "none_failed"
    for task_id in ("publish_batches", "wait_for_batches", "load", "warehouse", "report"):
        op = dag.get_task(task_id)
        assert op.retries == 3
        assert op.retry_exponential_backoff
        assert op.max_retry_delay == timedelta(minutes=20)
    assert dag.get_task("health_check").trigger_rule == "none_failed"


def test_build_dag_options(airflow_dag_module):
    from frota.errors import ConfigError

    dag = airflow_dag_module.build_dag(
        "frota_custom",
        every="daily",
        publish="off",
        queues={"source": "frota-source", "server": "frota-server", "analytics": "frota-dw"},
    )
    assert dag.timetable.expression == "0 2 * * *"
    assert dag.params["publish"] == "off"
    queue = {t.task_id: t.queue for t in dag.tasks}
    assert queue == {
        "publish_batches": "frota-source",
        "wait_for_batches": "frota-server",
        "load": "frota-server",
        "warehouse": "frota-dw",
        "report": "frota-dw",
        "health_check": "frota-server",
    }
    assert airflow_dag_module._queues_from_env("source=a, server=b,junk") == {
        "source": "a",
        "server": "b",
    }
    with pytest.raises(ConfigError):
        airflow_dag_module.build_dag("x", every="7m")
    with pytest.raises(ConfigError):
        airflow_dag_module.build_dag("x", publish="sometimes")


# -- the sensor's logic against a landing folder ------------------------------------------


def test_ready_batches_sees_only_complete_unloaded_batches(airflow_dag_module, tmp_path):
    settings = load_settings(
        env={},
        landing=str(tmp_path / "landing"),
        outbox=str(tmp_path / "outbox"),
        database=f"sqlite:///{tmp_path / 'frota.db'}",
    )
    m = airflow_dag_module
    # A landing area that does not exist is an error (a typo, a share not mounted), never
    # "nothing to wait for" forever (docs/operations.md).
    with pytest.raises(LandingError, match="does not exist"):
        m.ready_batches(settings)
    (tmp_path / "landing").mkdir()
    assert m.ready_batches(settings) == []  # empty landing, no schema yet: nothing to wait for
    published = m.publish_step(settings, "generate")["batches"]
    assert len(published) == 1
    assert m.ready_batches(settings) == published

    # A batch still uploading (no manifest yet) is not ready.
    batches = tmp_path / "landing" / "batches"
    partial = batches / (published[0][:-8] + "0badc0de")
    shutil.copytree(batches / published[0], partial)
    (partial / "_manifest.json").unlink()
    assert m.ready_batches(settings) == published

    loaded = m.load_step(settings)
    assert loaded["batches"] == published
    assert partial.name in loaded["incomplete"]
    assert m.ready_batches(settings) == []  # loaded: nothing left to wait for


# -- end to end with dag.test() -----------------------------------------------------------


@pytest.fixture(scope="module")
def e2e_run(airflow_dag_module, tmp_path_factory):
    """One `dag.test()` of the real DAG, on embedded defaults, in a fresh folder."""
    workdir = tmp_path_factory.mktemp("e2e")
    old = os.getcwd()
    os.chdir(workdir)
    try:
        dag_run = airflow_dag_module.frota_dag.test()
    finally:
        os.chdir(old)
    return workdir, dag_run


def test_dag_test_runs_the_whole_pipeline(e2e_run):
    workdir, dag_run = e2e_run
    assert str(dag_run.state) == "success"
    assert set(task_states(dag_run).values()) == {"success"}
    found = counts(workdir)
    assert found["veiculos"] > 0 and found["manutencoes"] > 0
    assert found["ledger"] == 1
    # The warehouse holds exactly what the operational DB holds, and the marts are built.
    assert found["raw.frota_veiculos_historico"] == found["frota_veiculos_historico"] > 0
    assert found["raw.manutencoes"] == found["manutencoes"]
    assert found["analytics.fct_manutencoes"] == found["manutencoes"]
    assert found["analytics.dim_veiculos"] >= found["veiculos"]
    assert found["analytics.mart_custo_veiculo_mes"] > 0
    # ...and the report was written from it, every section drawn.
    page = (workdir / "data" / "relatorio.html").read_text(encoding="utf-8")
    assert "Relatório da frota" in page and "data-unavailable" not in page


def test_a_retried_task_changes_nothing(airflow_dag_module, e2e_run, monkeypatch):
    """A retry re-runs the task's callable after its first attempt may have committed."""
    from frota.generate import generate_batch
    from frota.publish import outbox_folders

    workdir, _ = e2e_run
    monkeypatch.chdir(workdir)
    before = counts(workdir)
    settings = load_settings(env={})
    m = airflow_dag_module
    again = m.load_step(settings)
    assert again["batches"] == [] and again["rows_loaded"] == 0
    assert m.warehouse_step(settings)["batches_replicated"] == 0
    m.health_step(settings)
    assert m.publish_step(settings, "outbox")["batches"] == []
    assert counts(workdir) == before

    # publish failed after generating: the retry publishes that window, not a second one.
    outbox = Path(settings.outbox)
    left_behind = generate_batch(outbox, seed=settings.seed, vehicles=settings.vehicles)
    state_before = (outbox / "_generator_state.json").read_bytes()
    retried = m.publish_step(settings, "generate")
    assert retried["statuses"] == ["published"]
    assert outbox_folders(outbox) == []
    assert (outbox / "_published" / left_behind.out_dir.name).is_dir()
    assert (outbox / "_generator_state.json").read_bytes() == state_before
    # ...and loading it twice (a retried load) loads it once: its new work orders are new
    # records (the rest complete or re-send stored ones, DESIGN 5b).
    sent = outbox / "_published" / left_behind.out_dir.name / "manutencoes.csv"
    with open(sent, encoding="utf-8", newline="") as f:
        orders = {row["id_origem"] for row in csv.DictReader(f)}
    new_orders = len(orders - stored_orders(workdir))
    first, second = m.load_step(settings), m.load_step(settings)
    assert first["batches"] == retried["batches"] and second["batches"] == []
    after = counts(workdir)
    assert after["ledger"] == before["ledger"] + 1
    assert 0 < new_orders <= left_behind.manutencoes
    assert after["manutencoes"] == before["manutencoes"] + new_orders


def test_publish_from_dir_takes_each_export_once(airflow_dag_module, tmp_path, monkeypatch):
    """publish=from_dir: the new exports of the `exports` folder, once each (a retry publishes
    nothing again); without the setting, a clear configuration error."""
    import time

    from frota.config import Settings
    from frota.errors import ConfigError

    m = airflow_dag_module
    monkeypatch.chdir(tmp_path)
    exports = tmp_path / "exports" / "2026-01-31"
    exports.mkdir(parents=True)
    (exports / "veiculos.csv").write_text(
        "placa;tipo_veiculo;status;quilometragem_total;data_aquisicao\n"
        "ABC1234;Van;ativo;1000;2020-01-01\n",
        encoding="utf-8",
    )
    old = time.time() - 600
    for path in (exports / "veiculos.csv", exports):
        os.utime(path, (old, old))
    settings = Settings(exports=str(tmp_path / "exports"))
    first = m.publish_step(settings, "from_dir")
    assert first["statuses"] == ["published"]
    assert m.publish_step(settings, "from_dir")["batches"] == []
    assert m.ready_batches(settings) == first["batches"]
    with pytest.raises(ConfigError, match="needs the exports setting"):
        m.publish_step(Settings(), "from_dir")


def test_a_second_dag_run_changes_nothing(airflow_dag_module, e2e_run, monkeypatch):
    """Double run with nothing new: the sensor gives up, load/warehouse skip, health passes."""
    from airflow.dag_processing.dagbag import DagBag

    workdir, _ = e2e_run
    monkeypatch.chdir(workdir)
    before = counts(workdir)
    quick = DagBag(dag_folder=str(_DAGS)).get_dag(TEST_DAG_ID)
    dag_run = quick.test(run_conf={"publish": "outbox"})
    states = task_states(dag_run)
    assert str(dag_run.state) == "success", states
    assert states["publish_batches"] == "success"
    assert states["wait_for_batches"] == "skipped"
    assert states["load"] == states["warehouse"] == states["report"] == "skipped"
    assert states["health_check"] == "success"
    assert counts(workdir) == before


def test_publish_off_and_a_variable_pointing_elsewhere(airflow_dag_module, tmp_path, monkeypatch):
    """publish=off: the DAG only loads batches another machine published (read from the
    landing area named by the frota_settings Variable)."""
    import json

    m = airflow_dag_module
    source = tmp_path / "source"
    landing = tmp_path / "shared-landing"
    src_settings = load_settings(
        env={},
        landing=str(landing),
        outbox=str(source / "outbox"),
        database=f"sqlite:///{source / 'unused.db'}",
    )
    published = m.publish_step(src_settings, "generate")["batches"]
    server = tmp_path / "server"
    server.mkdir()
    variables = tmp_path / "variables.json"
    variables.write_text(json.dumps({"frota_settings": json.dumps({"landing": str(landing)})}))
    monkeypatch.chdir(server)
    dag_run = m.frota_dag.test(run_conf={"publish": "off"}, variable_file_path=str(variables))
    states = task_states(dag_run)
    assert str(dag_run.state) == "success", states
    assert states["publish_batches"] == "skipped"
    assert states["load"] == "success"
    found = counts(server)
    assert found["ledger"] == len(published) == 1
    assert found["raw.manutencoes"] == found["manutencoes"] > 0


# -- alerts ---------------------------------------------------------------------------------


def test_task_failures_alert_through_frotas_path(
    airflow_dag_module, receiver, monkeypatch, tmp_path
):
    """A task that fails outside frota alerts once (and clears on its next success); one that
    failed inside a frota step is not alerted twice: the step did it."""
    from types import SimpleNamespace

    from frota.errors import DatabaseUnreachable
    from frota.observe.alerts import ALERTED

    monkeypatch.setenv("FROTA_ALERTS", receiver.url)
    monkeypatch.setenv("FROTA_LOG_DIR", str(tmp_path / "logs"))
    m = airflow_dag_module
    task = SimpleNamespace(task_id="wait_for_batches")
    m.alert_on_failure({"task_instance": task, "exception": TimeoutError("sensor timed out")})
    m.alert_on_failure({"task_instance": task, "exception": TimeoutError("sensor timed out")})
    assert [p["title"] for p in receiver.posts] == [
        "frota CRITICAL: Airflow task wait_for_batches failed: sensor timed out"
    ]
    already = DatabaseUnreachable("cannot connect")
    setattr(already, ALERTED, True)
    wrapped = RuntimeError("task failed")
    wrapped.__cause__ = already
    m.alert_on_failure({"task_instance": SimpleNamespace(task_id="load"), "exception": wrapped})
    assert len(receiver.posts) == 1
    m.clear_on_success({"task_instance": task})
    assert receiver.posts[-1]["title"].startswith("frota OK: cleared: Airflow task")
