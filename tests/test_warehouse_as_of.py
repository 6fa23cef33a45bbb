"""A date-only as_of (a generated batch's last simulated day, `publish --as-of 2026-01-31`) is
the end of that day on the operator's calendar (the `timezone` setting): 23:59:59 local, or
the publish time when the day is not over yet. Read as 00:00 UTC, as it once was, it is the
previous evening in Brazil, and the batch's vehicle states landed on the wrong local day.

The expected moments are computed here with the zones' fixed UTC offsets (São Paulo UTC−3
since 2019, UTC−2 in its 2018/19 summer time; Manaus UTC−4), not with zoneinfo; the end to
end test follows generate → publish → load → warehouse and checks the manifest, the vehicle
history, the raw ledger and the dbt models against them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from frota.batch import MANIFEST_NAME, Manifest, day_as_of
from frota.config import Settings
from frota.db import schema
from frota.db.engine import create_engine
from frota.db.migrate import upgrade_schema
from frota.errors import BadInputError
from frota.generate import generate_batch
from frota.landing import open_landing
from frota.load import load_pending
from frota.publish import publish_dir, publish_outbox
from frota.warehouse import build_warehouse


def end_of_day(day: date, utc_offset_hours: int) -> datetime:
    """23:59:59 of `day` at a fixed UTC offset, in UTC: the independent computation."""
    midnight_after = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    return midnight_after - timedelta(hours=utc_offset_hours, seconds=1)


LATER = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "zone", "offset"),
    [
        (date(2024, 3, 10), "America/Sao_Paulo", -3),
        (date(2018, 12, 10), "America/Sao_Paulo", -2),  # Brazilian summer time
        (date(2024, 12, 31), "America/Manaus", -4),
        (date(2024, 6, 1), "UTC", 0),
    ],
)
def test_a_day_is_the_end_of_that_local_day(day: date, zone: str, offset: int) -> None:
    moment = day_as_of(day, zone, LATER)
    assert moment == end_of_day(day, offset)
    local = moment + timedelta(hours=offset)
    assert (local.date(), local.time()) == (day, time(23, 59, 59))


def test_a_day_not_over_yet_is_the_publish_time_and_a_later_day_is_refused() -> None:
    published = datetime(2024, 3, 10, 21, 0, tzinfo=UTC)  # 18:00 on 10 March in São Paulo
    assert day_as_of(date(2024, 3, 10), "America/Sao_Paulo", published) == published
    late_evening = datetime(2024, 3, 11, 1, 30, tzinfo=UTC)  # 22:30 on 10 March there
    assert day_as_of(date(2024, 3, 10), "America/Sao_Paulo", late_evening) == late_evening
    with pytest.raises(ValueError):  # 11 March has not begun in São Paulo
        day_as_of(date(2024, 3, 11), "America/Sao_Paulo", late_evening)


def _folder(tmp: Path, name: str, line: str) -> Path:
    folder = tmp / name
    folder.mkdir()
    header = "placa,tipo_veiculo,status,quilometragem_total,data_aquisicao"
    (folder / "veiculos.csv").write_text(f"{header}\n{line}\n", encoding="utf-8")
    return folder


def _manifest_as_of(landing: Path, batch_id: str) -> datetime:
    manifest = Manifest.from_json((landing / "batches" / batch_id / MANIFEST_NAME).read_text())
    return manifest.effective_at


def test_publish_as_of_a_date_follows_the_timezone_setting(tmp_path: Path) -> None:
    landing_dir = tmp_path / "landing"
    landing = open_landing(str(landing_dir))
    now = datetime(2024, 3, 20, 15, 0, tzinfo=UTC)
    line = "ABC1234,Van,Ativo,1000,2020-01-02"
    first = publish_dir(
        _folder(tmp_path, "a", line), landing, "pc1", now=now, as_of=date(2024, 3, 10),
        timezone="America/Manaus",
    )  # fmt: skip
    assert _manifest_as_of(landing_dir, first.batch_id) == end_of_day(date(2024, 3, 10), -4)
    today = publish_dir(
        _folder(tmp_path, "b", line.replace("1000", "1100")), landing, "pc1", now=now,
        as_of=date(2024, 3, 20), timezone="America/Sao_Paulo",
    )  # fmt: skip
    assert _manifest_as_of(landing_dir, today.batch_id) == now  # 20 March is not over yet
    with pytest.raises(BadInputError, match="in the future"):
        publish_dir(
            _folder(tmp_path, "c", line.replace("1000", "1200")), landing, "pc1", now=now,
            as_of=date(2024, 3, 21), timezone="America/Sao_Paulo",
        )  # fmt: skip


def test_a_generated_batch_lands_on_its_local_day_end_to_end(tmp_path: Path) -> None:
    """Two generated windows (ending 10 and 31 March 2024), published on 5 April: each batch's
    vehicle states are in force from 23:59:59 of its last day in São Paulo, so the version a
    batch starts is the vehicle's state at the end of that day (dim_veiculos.dia_inicio), and
    the warehouse's reference date is 31 March."""
    settings = Settings(
        landing=str(tmp_path / "landing"),
        database=f"sqlite:///{tmp_path / 'frota.db'}",
        warehouse=f"duckdb:///{tmp_path / 'wh.duckdb'}",
        outbox=str(tmp_path / "outbox"),
        source="gen",
        log_dir=str(tmp_path / "logs"),
    )
    engine = create_engine(settings.database)
    upgrade_schema(engine)
    days = (date(2024, 3, 10), date(2024, 3, 31))
    generate_batch(Path(settings.outbox), seed=5, vehicles=25, until=days[0], days=200)
    generate_batch(Path(settings.outbox), seed=5, vehicles=25, until=days[1], days=21)
    published = publish_outbox(settings, now=datetime(2024, 4, 5, 15, 0, tzinfo=UTC))
    expected = {r.batch_id: end_of_day(d, -3) for r, d in zip(published, days, strict=True)}
    landing = Path(settings.landing)
    assert {b: _manifest_as_of(landing, b) for b in expected} == expected
    assert len(load_pending(settings).loaded) == 2

    h, b = schema.vehicle_history, schema.batches
    with engine.connect() as conn:
        since = conn.execute(sa.select(h.c.lote_id, h.c.vigente_desde).distinct()).all()
        ledger = dict(conn.execute(sa.select(b.c.batch_id, b.c.as_of)).all())
    engine.dispose()
    naive = {k: v.replace(tzinfo=None) for k, v in expected.items()}
    assert {lote: when for lote, when in since} == naive
    assert ledger == naive

    build_warehouse(settings, freshness=False, dbt_dir=tmp_path / "dbt")
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        raw_ledger = dict(
            con.execute("SELECT batch_id, as_of FROM raw.frota_replicated_batches").fetchall()
        )
        (reference,) = con.execute("SELECT data_referencia FROM analytics.int_periodo").fetchone()
        later = con.execute(
            "SELECT registrado_em, dia_inicio, ultimo_lote_id FROM analytics.dim_veiculos "
            "WHERE versao > 1"
        ).fetchall()
    finally:
        con.close()
    assert raw_ledger == naive
    assert reference == days[1]  # "today" as the data know it: the last simulated day
    assert later, "the second window changed no vehicle's status or type"
    # a version a batch started is in force from the end of the batch's own local day
    for registered, first_day, _lote in later:
        assert registered.time() == time(23, 59, 59) and registered.date() in days
        assert first_day == registered.date()
