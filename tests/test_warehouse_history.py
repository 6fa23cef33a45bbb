"""History-true SCD2 (DESIGN §5b, issue 12): the vehicle dimension comes from the vehicle
history the loader keeps, and a warehouse built in one go equals one built batch by batch.

One story per backend (DuckDB, PostgreSQL), loaded through the loader's own vehicle upsert:
a first batch; two batches that change one vehicle twice before the next warehouse run; a
late batch whose data were true between the first two (it puts older states in the history,
under facts built earlier); two batches that change stored maintenances (an update twice,
one moved to another day, two retired); a last batch that restores one of them. The
"stepwise" warehouse runs after each step; the "one go" warehouse runs once at the end.
Every dimension, fact and mart must be equal row for row (but for which replication run
brought a row), and equal to the independent computation of tests/warehouse_oracle.py over
the operational database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from test_warehouse import TABLES, read_tables
from test_warehouse_support import STATUSES, Fleet, at, compare, load_batch
from warehouse_oracle import MART_KEYS, Oracle

from frota.db import schema
from frota.db.engine import create_engine
from frota.db.migrate import upgrade_schema
from frota.warehouse import build_warehouse

# Which replication run brought a row: the one thing a stepwise warehouse may differ in.
RUN_COLUMNS = {"replicacao_seq"}


@dataclass
class Story:
    """What one backend's story left behind."""

    stepwise: dict[str, pd.DataFrame] = field(default_factory=dict)
    one_go: dict[str, pd.DataFrame] = field(default_factory=dict)
    before_late: pd.DataFrame | None = None  # stepwise fct_manutencoes before the late batch
    after_late: pd.DataFrame | None = None
    oracle: Oracle = field(default_factory=Oracle)
    twice: tuple[str, list[str]] = ("", [])  # the plate changed twice, its statuses in order
    late_plates: list[str] = field(default_factory=list)
    acquisitions: dict[str, date] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)  # what each changed record is
    moved_to: date | None = None
    retired_then: pd.DataFrame | None = None  # stepwise fct after the retirements


def _with_status(fleet: Fleet, batch: dict, placa: str, avoid: set[str]) -> str:
    """Give `placa` a status outside `avoid` in `batch` (and the fleet); the status."""
    status = next(s for s in STATUSES if s not in avoid)
    vehicle = dict(fleet.vehicles[placa], status=status)
    fleet.vehicles[placa] = vehicle
    batch["veiculos"] = [v for v in batch["veiculos"] if v["placa"] != placa] + [dict(vehicle)]
    return status


def _status_at(oracle: Oracle, placa: str, moment: datetime) -> str | None:
    versions = oracle.versions()[placa]
    local = oracle.local(moment)
    return next((v.status for v in versions if v.in_force_at(local)), versions[0].status)


def _warehouses(request, tmp: Path) -> Iterator[tuple[str, str]]:
    if request.param == "duckdb":
        yield f"duckdb:///{tmp / 'stepwise.duckdb'}", f"duckdb:///{tmp / 'one-go.duckdb'}"
        return
    from conftest import PG_ADMIN, _fresh_database

    made = [_fresh_database(PG_ADMIN, "PostgreSQL", '"', " WITH (FORCE)") for _ in range(2)]
    urls = [sa.make_url(next(m)).set(drivername="postgresql") for m in made]
    yield tuple(u.render_as_string(hide_password=False) for u in urls)  # type: ignore[misc]
    for m in made:
        next(m, None)


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def story(request, tmp_path_factory) -> Iterator[Story]:
    tmp: Path = tmp_path_factory.mktemp(f"history-{request.param}")
    warehouses = _warehouses(request, tmp)
    stepwise_url, one_go_url = next(warehouses)
    database_url = f"sqlite:///{tmp / 'frota.db'}"
    engine = create_engine(database_url)
    upgrade_schema(engine)
    fleet = Fleet(seed=23, created=datetime(2024, 1, 10, 21, 0), visits=True)
    s = Story()

    def load(batch: dict) -> None:
        load_batch(engine, batch)
        s.oracle.record(engine, batch["batch_id"])

    def run() -> None:
        build_warehouse(at(database_url, stepwise_url), dbt_dir=tmp / "dbt-stepwise")

    first = fleet.next_batch(12, 0, 80)
    load(first)
    run()
    first_at = datetime.strptime(first["created_at"], "%Y-%m-%dT%H:%M:%SZ")
    s.acquisitions = {v["placa"]: v["data_aquisicao"] for v in first["veiculos"]}

    # One vehicle changed by two batches before the next run: both versions must stay.
    second, third = fleet.next_batch(2, 3, 50), fleet.next_batch(0, 2, 40)
    placa = first["veiculos"][0]["placa"]
    statuses = [fleet.vehicles[placa]["status"]]
    statuses.append(_with_status(fleet, second, placa, {statuses[0]}))
    statuses.append(_with_status(fleet, third, placa, set(statuses)))
    s.twice = (placa, statuses)
    load(second)
    load(third)
    run()
    s.before_late = read_tables(stepwise_url, ["fct_manutencoes"])["fct_manutencoes"]

    # A late batch: published now, its data true ten days after the first batch. Its states
    # of vehicles serviced after that go under facts the warehouse built already.
    late = fleet.next_batch(0, 0, 20)
    late["as_of"] = first_at + timedelta(days=10)
    m = schema.manutencoes
    with engine.connect() as conn:
        serviced = conn.execute(
            sa.select(m.c.placa_veiculo)
            .where(m.c.data_manutencao > (first_at + timedelta(days=11)).date())
            .where(m.c.placa_veiculo != placa)
            .group_by(m.c.placa_veiculo)
            .order_by(sa.func.count().desc(), m.c.placa_veiculo)
            .limit(3)
        ).scalars()
        for plate in serviced:
            now = {_status_at(s.oracle, plate, late["as_of"]), fleet.vehicles[plate]["status"]}
            _with_status(fleet, late, plate, now)
            s.late_plates.append(plate)
    late["veiculos"] = [v for v in late["veiculos"] if v["placa"] in s.late_plates]
    load(late)
    run()
    s.after_late = read_tables(stepwise_url, ["fct_manutencoes"])["fct_manutencoes"]

    # Changes to stored records (DESIGN §5b), by two batches before the next run: one record
    # updated twice, one moved to another day and service, two retired; the last batch
    # restores one of them.
    with engine.connect() as conn:
        rows = conn.execute(sa.select(m.c.id, m.c.data_manutencao).order_by(m.c.id)).all()
    (upd, _), (moved, day), (gone, _), (back, _) = rows[3], rows[10], rows[20], rows[30]
    earlier = day - timedelta(days=40)
    s.changes = {"updated": upd, "moved": moved, "gone": gone, "back": back}
    s.moved_to = earlier
    changes = fleet.next_batch(0, 0, 0)
    changes["changes"] = [
        ("update", upd, {"custo": Decimal("1234.56"), "data_conclusao": None}),
        (
            "update",
            moved,
            {"data_manutencao": earlier, "data_conclusao": earlier, "tipo_manutencao": "Motor"},
        ),
        ("retire", gone, {}),
        ("retire", back, {}),
    ]
    load(changes)
    again = fleet.next_batch(0, 0, 5)
    again["changes"] = [("update", upd, {"custo": Decimal("99.90")})]
    load(again)
    run()
    s.retired_then = read_tables(stepwise_url, ["fct_manutencoes"])["fct_manutencoes"]

    last = fleet.next_batch(1, 3, 30)
    last["changes"] = [("restore", back, {})]
    load(last)
    run()
    build_warehouse(at(database_url, one_go_url), dbt_dir=tmp / "dbt-one-go")
    s.oracle.finish(engine)
    s.stepwise = read_tables(stepwise_url, TABLES)
    s.one_go = read_tables(one_go_url, TABLES)
    engine.dispose()
    yield s
    next(warehouses, None)


def _text(value: object) -> str | None:
    """A cell as comparable text: floats to 12 significant digits (a sum in another order
    may differ in the last bit)."""
    if value is None:
        return None
    if isinstance(value, float):
        return f"{value:.12g}"
    return str(value)


def _rows(df: pd.DataFrame) -> pd.DataFrame:
    """The table's rows in a canonical order, without the run columns, as comparable text."""
    cols = sorted(c for c in df.columns if c not in RUN_COLUMNS)
    out = df[cols].astype(object).where(df[cols].notna(), None)
    out = out.apply(lambda col: col.map(_text))
    return out.sort_values(cols, na_position="first").reset_index(drop=True)


@pytest.mark.parametrize("table", TABLES)
def test_one_go_equals_batch_by_batch(story: Story, table: str) -> None:
    stepwise, one_go = story.stepwise[table], story.one_go[table]
    assert list(stepwise.columns) == list(one_go.columns)
    assert len(stepwise) == len(one_go) > 0
    pd.testing.assert_frame_equal(_rows(stepwise), _rows(one_go))


def test_a_late_batch_repoints_facts_built_before_it(story: Story) -> None:
    """Facts loaded before the late batch now point at the version its states made: the
    service-day status changed, and agrees with the independent computation."""
    assert story.before_late is not None and story.after_late is not None
    cols = ["manutencao_id", "placa", "veiculo_sk", "status_no_servico"]
    joined = story.before_late[cols].merge(
        story.after_late[cols], on=["manutencao_id", "placa"], suffixes=("_antes", "_depois")
    )
    moved = joined[joined.veiculo_sk_antes != joined.veiculo_sk_depois]
    assert len(joined) == len(story.before_late)  # every fact built before is still there
    assert set(moved.placa) == set(story.late_plates)
    assert (moved.status_no_servico_antes != moved.status_no_servico_depois).any()
    final = story.stepwise["fct_manutencoes"].set_index("manutencao_id")
    expected = pd.DataFrame(story.oracle.services()).set_index("id")
    for id_ in moved.manutencao_id:
        assert final.status_no_servico[id_] == expected.status[id_]


def test_a_vehicle_changed_twice_between_runs_keeps_both_versions(story: Story) -> None:
    placa, statuses = story.twice
    dim = story.stepwise["dim_veiculos"]
    versions = dim[dim.placa == placa].sort_values("versao")
    assert list(versions.status)[: len(statuses)] == statuses


def test_the_first_version_starts_at_the_acquisition(story: Story) -> None:
    dim = story.stepwise["dim_veiculos"]
    first = dim[dim.versao == 1].set_index("placa")
    for placa, acquired in story.acquisitions.items():
        assert pd.Timestamp(first.valido_de[placa]) == pd.Timestamp(acquired)
    assert pd.to_datetime(dim.valido_de).min().year > 1900


def test_dimension_and_facts_match_the_independent_computation(story: Story) -> None:
    cols = ["placa", "versao", "status", "tipo_veiculo", "status_classe", "tipo_veiculo_classe"]
    cols += ["is_atual", "valido_de", "valido_ate"]
    actual = story.stepwise["dim_veiculos"][cols].sort_values(["placa", "versao"])
    expected = story.oracle.dim()[cols].sort_values(["placa", "versao"])
    for df in (actual, expected):
        for col in ("valido_de", "valido_ate"):
            df[col] = df[col].astype(str).str.slice(0, 19)
    pd.testing.assert_frame_equal(
        actual.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )
    fct = story.stepwise["fct_manutencoes"].set_index("manutencao_id").sort_index()
    services = pd.DataFrame(story.oracle.services()).set_index("id").sort_index()
    assert list(fct.index) == list(services.index)
    assert list(fct.status_no_servico) == list(services.status)
    assert list(fct.tipo_veiculo_no_servico) == list(services.tipo_veiculo)
    assert list(fct.versao_presumida) == list(services.versao_presumida)


@pytest.mark.parametrize("mart", list(MART_KEYS))
def test_kpi_marts_match_the_independent_computation(story: Story, mart: str) -> None:
    compare(mart, story.stepwise[mart], getattr(story.oracle, mart)())


def test_changed_records_are_their_latest_change(story: Story) -> None:
    """Updates replace the record in the fact; a retired record leaves it (and every mart,
    compared with the oracle above) and comes back when restored."""
    c = story.changes
    assert story.retired_then is not None
    then = story.retired_then.set_index("manutencao_id")
    assert c["gone"] not in then.index and c["back"] not in then.index
    fct = story.stepwise["fct_manutencoes"].set_index("manutencao_id")
    assert c["gone"] not in fct.index and c["back"] in fct.index
    assert float(fct.custo[c["updated"]]) == 99.90
    assert pd.isna(fct.data_conclusao[c["updated"]])
    assert pd.Timestamp(fct.data_manutencao[c["moved"]]) == pd.Timestamp(story.moved_to)
    assert fct.tipo_manutencao[c["moved"]] == "Motor"
