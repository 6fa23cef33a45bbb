"""Working with the quarantine: list (filters, counts by reason), export (for Excel, formulas
neutralised), retry (idempotent, decisions left to a person), and the CLI around them."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

from batchkit import (
    MANUT_HEADER,
    TODAY,
    V1_LINES,
    init_db,
    load_one,
    publish_lines,
    query,
    settings_for,
)
from click.testing import CliRunner

from frota.cli import cli
from frota.contract.identity import fingerprint, fingerprint_key
from frota.db.engine import create_engine
from frota.db.schema import quarantine
from frota.load import load_pending
from frota.ops.quarantine import (
    FORMULA_START,
    export_quarantine,
    list_quarantine,
    neutralise,
    retry_quarantine,
)

GOOD = "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-05"
MANUT = [
    GOOD,
    "ABC1234,Pneus,2026-07-15,100.00,,corretiva,",  # future on TODAY, fine a month later
    GOOD,  # an identical service: a record of its own (occurrence 2)
    '"=HYPERLINK(""http://x"")",Pneus,05/13/2026,1.00,,,',  # a formula, too long for a plate
]
VEIC = [*V1_LINES, "CDA1B23,Van,ativo,1000,2020-01-01", "CDA1B23,Van,inativo,1000,2020-01-01"]


def _loaded(tmp_path: Path, db_url: str):
    s, batch = load_one(tmp_path, db_url, VEIC, MANUT)
    _hold_as_before_identity(db_url, batch.batch_id)
    return s, batch


def _hold_as_before_identity(db_url: str, batch_id: str) -> None:
    """A third copy of GOOD held as duplicate_row, as loaders before record identity did."""
    values = dict(zip(MANUT_HEADER.split(","), GOOD.split(","), strict=True))
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                quarantine.insert(),
                {
                    "batch_id": batch_id,
                    "table_name": "manutencoes",
                    "file": "manutencoes.csv",
                    "line": 6,
                    "reason": "duplicate_row",
                    "detail": "an exact copy of an earlier row of this file",
                    "raw": GOOD,
                    "values_json": json.dumps(values),
                    "placa": "ABC1234",
                    "status": "held",
                    "created_at": datetime(2026, 6, 30),
                },
            )
    finally:
        engine.dispose()


def test_list_export_retry(tmp_path: Path, db_url: str) -> None:
    s, batch = _loaded(tmp_path, db_url)
    listing = list_quarantine(s)
    assert listing.counts == {
        "conflicting_duplicate": 2,
        "duplicate_row": 1,
        "future_date": 1,
        "too_long": 1,
    }
    assert list_quarantine(s, reason="future_date", batch=batch.batch_id).total == 1
    assert list_quarantine(s, batch="nope").total == 0

    out = tmp_path / "q.csv"
    assert export_quarantine(s, out) == 5
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(data.decode("utf-8-sig").splitlines(), delimiter=";"))
    plate = next(r for r in rows if r["frota_reason"] == "too_long")
    assert plate["placa_veiculo"] == '\'=HYPERLINK("http://x")'
    assert all(not v.startswith(FORMULA_START) for v in plate.values())
    assert plate["frota_line"] == "5"

    # Nothing passes yet; duplicates and conflicts wait for a decision.
    first = retry_quarantine(s, today=TODAY)
    assert (first.examined, first.released, first.still_held) == (2, 0, 2)
    # A month later the date is no longer in the future: released, once.
    later = date(2026, 7, 20)
    second = retry_quarantine(s, today=later)
    assert (second.released, second.manutencoes_inserted) == (1, 1)
    assert retry_quarantine(s, today=later).released == 0  # idempotent
    # The person decides: the duplicate was real; the conflict's right copy is the first.
    assert retry_quarantine(s, reason="duplicate_row", today=later).manutencoes_inserted == 1
    keys = {k for (k,) in query(db_url, "SELECT chave FROM manutencoes")}
    good = fingerprint(GOOD.split(","))
    assert {fingerprint_key(good, k) for k in (1, 2, 3)} <= keys  # the third copy: k = 3
    [conflict_id] = query(
        db_url,
        "SELECT MIN(id) FROM frota_quarantine WHERE reason = 'conflicting_duplicate'",
    )[0:1][0]
    chosen = retry_quarantine(s, ids=[conflict_id], today=later)
    assert (chosen.released, chosen.veiculos_inserted) == (1, 1)
    assert query(db_url, "SELECT status FROM veiculos WHERE placa = 'CDA1B23'") == [("ativo",)]
    assert query(db_url, "SELECT COUNT(*) FROM manutencoes") == [(batch.manutencoes_inserted + 2,)]
    assert list_quarantine(s).counts == {"conflicting_duplicate": 1, "too_long": 1}
    assert list_quarantine(s, status="released").total == 3


def test_retry_of_conflicts_by_reason_never_picks_a_winner(tmp_path: Path, sqlite_url: str) -> None:
    s, _ = _loaded(tmp_path, sqlite_url)
    result = retry_quarantine(s, reason="conflicting_duplicate", today=TODAY)
    assert (result.released, result.still_held) == (0, 2)
    assert query(sqlite_url, "SELECT COUNT(*) FROM veiculos WHERE placa = 'CDA1B23'") == [(0,)]


def test_neutralise() -> None:
    for text in ("=1+1", "+1+1", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "-"):
        assert neutralise(text) == "'" + text
    for number in ("-1", "-10,50", "+1.234,56"):  # numbers stay numbers in the sheet
        assert neutralise(number) == number
    assert neutralise("Troca de óleo") == "Troca de óleo"
    assert neutralise(None) == ""


def test_cli_quarantine_commands(tmp_path: Path, sqlite_url: str) -> None:
    s, _ = _loaded(tmp_path, sqlite_url)
    runner = CliRunner()
    base = ["--database", sqlite_url, "--landing", s.landing]
    listed = runner.invoke(cli, [*base, "quarantine", "list"])
    assert listed.exit_code == 0, listed.output
    assert "future_date" in listed.output and "the date is after today" in listed.output
    assert "manutencoes.csv:3" in listed.output
    exported = runner.invoke(cli, [*base, "quarantine", "export", str(tmp_path / "q.csv")])
    assert exported.exit_code == 0 and "exported 5 row(s)" in exported.output
    retried = runner.invoke(cli, [*base, "quarantine", "retry"])
    assert retried.exit_code == 0 and "still held" in retried.output
    bad = runner.invoke(cli, [*base, "quarantine", "list", "--reason", "nope"])
    assert bad.exit_code != 0


def test_rows_a_retry_writes_reach_the_warehouse(tmp_path: Path) -> None:
    """A retry is a ledger entry of its own, so replication (by ledger entry) copies its rows."""
    import duckdb
    from batchkit import TODAY, init_db, publish_lines, query, settings_for

    from frota.contract import RETRY_SOURCE
    from frota.load import load_pending
    from frota.ops.quarantine import retry_quarantine
    from frota.warehouse import replicate_only

    db = f"sqlite:///{tmp_path / 'frota.db'}"
    warehouse = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    init_db(db)
    s = settings_for(tmp_path, db)
    publish_lines(
        tmp_path,
        s.landing,
        1,
        ["ABC1234,Van,ativo,100,2020-01-01", "ABC1234,Van,inativo,100,2020-01-01"],
        ["ABC1234,Freios,2026-01-06,100.00,,corretiva,"],
    )
    load_pending(s, today=TODAY)
    assert replicate_only(s.with_overrides(warehouse=warehouse)).reread == ()
    (first_vehicle,) = query(db, "SELECT MIN(id) FROM frota_quarantine WHERE table_name='veiculos'")
    result = retry_quarantine(s, ids=[first_vehicle[0]], today=TODAY)
    assert (result.veiculos_inserted, result.manutencoes_inserted) == (1, 1)
    assert query(db, "SELECT source FROM frota_batches WHERE batch_id = :b", b=result.batch_id) == [
        (RETRY_SOURCE,)
    ]
    assert query(db, "SELECT DISTINCT lote_id FROM manutencoes") == [(result.batch_id,)]
    replicated = replicate_only(s.with_overrides(warehouse=warehouse))
    assert replicated.batches == (result.batch_id,) and replicated.reread == ()
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as wh:
        assert wh.execute("SELECT COUNT(*) FROM raw.manutencoes").fetchall() == [(1,)]
        assert wh.execute("SELECT COUNT(*) FROM raw.frota_veiculos_historico").fetchall() == [(1,)]
    empty = retry_quarantine(s, today=TODAY)
    assert empty.rows_written == 0 and empty.batch_id is None


def test_retry_applies_the_loaders_vehicle_rule(tmp_path: Path, sqlite_url: str) -> None:
    """A held vehicle row is judged by its own batch: the odometer never goes back, an older
    row than the current state changes nothing (stale), a newer one updates."""
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    publish_lines(tmp_path, s.landing, 1, ["ABC1234,Van,ativo,100,2020-01-01"])
    lower, higher = "ABC1234,Van,inativo,50,2020-01-01", "ABC1234,Van,ativo,200,2020-01-01"
    publish_lines(tmp_path, s.landing, 2, [lower, higher])  # a conflict: both held
    load_pending(s, today=TODAY)
    ids = dict(query(sqlite_url, "SELECT raw, id FROM frota_quarantine"))

    regressed = retry_quarantine(s, ids=[ids[lower]], today=TODAY)
    assert (regressed.still_held, regressed.reason_changed, regressed.rows_written) == (1, 1, 0)
    assert regressed.by_reason == {"odometer_regressed": 1} and regressed.batch_id is None
    updated = retry_quarantine(s, ids=[ids[higher]], today=TODAY)
    assert (updated.released, updated.veiculos_updated) == (1, 1)
    # The lower row is from batch 2, older than the state the retry wrote: stale, released.
    stale = retry_quarantine(s, ids=[ids[lower]], today=TODAY)
    assert (stale.released, stale.veiculos_stale, stale.rows_written) == (1, 1, 0)
    assert query(sqlite_url, "SELECT status, quilometragem_total, lote_id FROM veiculos") == [
        ("ativo", 200, updated.batch_id)
    ]
