"""Your own dbt project on top of frota's: `frota warehouse init-project DIR` writes it,
`warehouse_project` makes `frota warehouse` build it, on DuckDB and PostgreSQL; the example
mart is checked against an independent computation over the operational tables, a shipped
KPI is replaced, and an upgrade of frota's project reaches the build without touching a file
of the user's (the wheel test reinstalls the real package)."""

from __future__ import annotations

import hashlib
import shutil
from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from test_warehouse import read_tables

from frota.cli import cli
from frota.config import Settings
from frota.contract.categories import Categories
from frota.db.engine import create_engine
from frota.db.migrate import upgrade_schema
from frota.errors import ConfigError
from frota.generate import generate_batch
from frota.load import load_pending
from frota.publish import publish_outbox
from frota.warehouse import build_warehouse, project
from frota.warehouse import dbt as dbt_module
from frota.warehouse.project import init_project, project_dir, project_name

UNTIL = date(2025, 3, 31)
CENT = Decimal("0.01")
# A user's own version of a shipped KPI: only finished services count. dbt_project.yml turns
# frota's off; frota's contract and tests of that mart then apply to this one (its columns and
# types).
OWN_KPI = """
select
    cast(coalesce(f.tipo_manutencao, '(não informado)') as varchar) as tipo_manutencao,
    cast(coalesce(v.tipo_veiculo, '(não informado)') as varchar) as tipo_veiculo,
    cast(count(*) as bigint) as qtd_manutencoes,
    cast(coalesce(sum(f.custo), 0) as numeric(18, 2)) as custo_total,
    {{ frota.safe_divide('sum(f.custo)', 'count(f.custo)') }} as custo_medio
from {{ ref('fct_manutencoes') }} as f
inner join {{ ref('dim_veiculos') }} as v on f.veiculo_sk = v.veiculo_sk
where f.data_conclusao is not null
group by 1, 2
"""
TURN_OFF = """
  frota:
    marts:
      kpi:
        mart_custo_por_tipo:
          +enabled: false
"""


def test_init_project_writes_a_project_and_never_overwrites(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["warehouse", "init-project", str(tmp_path / "Minha Frota")])
    assert result.exit_code == 0, result.output
    made = tmp_path / "Minha Frota"
    assert "warehouse_project" in result.output
    assert (made / "dbt_project.yml").read_text(encoding="utf-8").count("minha_frota") == 2
    assert "env_var('FROTA_DBT_PROJECT')" in (made / "packages.yml").read_text(encoding="utf-8")
    assert "dbt_packages/" in (made / ".gitignore").read_text(encoding="utf-8")
    assert (made / "models" / "custo_por_classe_veiculo.sql").is_file()

    (made / "models" / "custo_por_classe_veiculo.sql").write_text("-- mine\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="never overwrites"):
        init_project(made)
    assert (made / "models" / "custo_por_classe_veiculo.sql").read_text() == "-- mine\n"

    half = tmp_path / "half"
    half.mkdir()
    (half / "README.md").write_text("mine\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="README.md"):
        init_project(half)
    assert sorted(p.name for p in half.iterdir()) == ["README.md"]  # nothing written


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("analise", "analise"),
        ("Minha Frota-2", "minha_frota_2"),
        ("frota", "minha_frota"),
        ("2025", "minha_frota"),
        ("dw_frota", "dw_frota"),
    ],
)
def test_project_names_are_dbt_names(tmp_path: Path, folder: str, name: str) -> None:
    assert project_name(tmp_path / folder) == name


def test_warehouse_project_must_be_a_dbt_project(tmp_path: Path) -> None:
    assert project_dir(Settings()) == project.PROJECT_DIR
    with pytest.raises(ConfigError, match="not a dbt project") as raised:
        project_dir(Settings(warehouse_project=str(tmp_path)))
    assert raised.value.hint == f"create one with `frota warehouse init-project {tmp_path}`"


# ---------------------------------------------------------------- built on real warehouses


def operational(tmp: Path, warehouse: str, own: Path) -> Settings:
    """A small fleet published and loaded into SQLite; settings whose warehouse builds `own`."""
    settings = Settings(
        landing=str(tmp / "landing"),
        database=f"sqlite:///{tmp / 'frota.db'}",
        warehouse=warehouse,
        outbox=str(tmp / "outbox"),
        source="test",
        cache_dir=str(tmp / "cache"),
        warehouse_project=str(own),
    )
    engine = create_engine(settings.database)
    upgrade_schema(engine)
    engine.dispose()
    generate_batch(Path(settings.outbox), seed=5, vehicles=25, until=UNTIL, days=120)
    publish_outbox(settings, now=datetime.combine(UNTIL, time(22), tzinfo=UTC))
    assert len(load_pending(settings).loaded) == 1
    return settings


def cost_per_class(settings: Settings) -> dict[str, tuple[int, Decimal]]:
    """The example mart computed apart: each vehicle's tipo_veiculo classified in Python,
    maintenances and costs summed per class (a vehicle keeps its type in the generator)."""
    engine = sa.create_engine(settings.database)
    with engine.connect() as conn:
        kinds = dict(conn.execute(sa.text("select placa, tipo_veiculo from veiculos")).all())
        rows = conn.execute(sa.text("select placa_veiculo, custo from manutencoes")).all()
    engine.dispose()
    categories, per_class = Categories(), defaultdict(lambda: [0, Decimal(0)])
    for placa, custo in rows:
        totals = per_class[categories.vehicle_type(kinds[placa])]
        totals[0] += 1
        totals[1] += Decimal(str(custo or 0))
    return {k: (n, total.quantize(CENT)) for k, (n, total) in per_class.items()}


def finished(settings: Settings) -> int:
    engine = sa.create_engine(settings.database)
    with engine.connect() as conn:
        sql = "select count(*) from manutencoes where data_conclusao is not null"
        count = conn.execute(sa.text(sql)).scalar_one()
    engine.dispose()
    return int(count)


def assert_example_mart(settings: Settings) -> None:
    mart = read_tables(settings.warehouse, ["custo_por_classe_veiculo"])["custo_por_classe_veiculo"]
    built = {
        r.classe_veiculo: (int(r.qtd_manutencoes), Decimal(str(r.custo_total)).quantize(CENT))
        for r in mart.itertuples()
    }
    assert built == cost_per_class(settings)
    assert len(built) >= 3


def digest(folder: Path) -> dict[str, str]:
    """The user's own files (dbt's links and lock apart) and their hashes."""
    skip = ("dbt_packages", "package-lock.yml")
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.relative_to(folder).as_posix().startswith(skip)
    }


def test_own_project_on_duckdb_replaces_a_kpi_and_takes_an_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shipped project as an installed frota would have it: a folder of its own that an
    # upgrade rewrites (the source tree itself must stay untouched).
    installed = tmp_path / "site-packages" / "dbt_project"
    shutil.copytree(project.PROJECT_DIR, installed)
    monkeypatch.setattr(project, "PROJECT_DIR", installed)
    monkeypatch.setattr(dbt_module, "PROJECT_DIR", installed)

    own = tmp_path / "analise"
    init_project(own)
    with (own / "dbt_project.yml").open("a", encoding="utf-8") as fh:
        fh.write(TURN_OFF)
    (own / "models" / "mart_custo_por_tipo.sql").write_text(OWN_KPI, encoding="utf-8")
    settings = operational(tmp_path, f"duckdb:///{tmp_path / 'warehouse.duckdb'}", own)

    first = build_warehouse(settings, freshness=False)
    assert first.tests_failed == 0 and first.models_built >= 20
    assert_example_mart(settings)
    kpi = read_tables(settings.warehouse, ["mart_custo_por_tipo"])["mart_custo_por_tipo"]
    assert list(kpi.columns) == [
        "tipo_manutencao",
        "tipo_veiculo",
        "qtd_manutencoes",
        "custo_total",
        "custo_medio",
    ]
    assert kpi.qtd_manutencoes.sum() == finished(settings) > 0  # the user's definition
    assert (own / "dbt_packages" / "frota").resolve() == installed.resolve()

    # An upgrade of frota: its project gains a model; the user's project builds it too.
    before = digest(own)
    new_model = installed / "models" / "marts" / "kpi" / "mart_da_versao_nova.sql"
    new_model.write_text("select 1 as versao\n", encoding="utf-8")
    second = build_warehouse(settings, freshness=False)
    assert second.models_built == first.models_built + 1 and second.tests_failed == 0
    (new,) = read_tables(settings.warehouse, ["mart_da_versao_nova"]).values()
    assert new.versao.tolist() == [1]
    assert_example_mart(settings)
    assert digest(own) == before


@pytest.mark.postgres
def test_own_project_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    own = tmp_path / "analise"
    init_project(own)
    warehouse = sa.make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
    settings = operational(tmp_path, warehouse, own)
    built = build_warehouse(settings, freshness=False)
    assert built.tests_failed == 0 and built.models_built >= 20
    assert_example_mart(settings)
