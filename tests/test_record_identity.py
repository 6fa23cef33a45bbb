"""Every maintenance exactly once (issue 11, DESIGN §5b): overlapping exports, corrections,
completions, identical services, work orders repeated in a batch or shared by two sources, on
every backend. Expected figures come from the worked example in docs/data-contract.md."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from batchkit import MANUT_HEADER, T0, TODAY, V1_LINES, init_db, query, settings_for

from frota.batch import Snapshot
from frota.contract.identity import work_order_key
from frota.landing import open_landing
from frota.load import load_pending
from frota.ops.quarantine.retry import retry_quarantine
from frota.publish import publish_dir

HEADER = MANUT_HEADER + ",Nº OS"  # an alias of id_origem, as a pt-BR export names it
OIL_OPEN = "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,,OS-1"
OIL_CLOSED = "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-06,OS-1"
BRAKES = "BRA2E19,Freios,2026-01-06,1234.56,44800,corretiva,,OS-2"
BRAKES_FIXED = "BRA2E19,Freios,2026-01-06,1324.56,44800,corretiva,,OS-2"
TYRES = "ABC1234,Pneus,2026-01-20,2400.00,121000,corretiva,2026-01-21,OS-3"
WASH = "ABC1234,Lavagem,2026-01-07,50.00,,,,"


class Source:
    """Publishes hand-made exports of one source, a minute apart."""

    def __init__(self, tmp: Path, landing: str, name: str = "oficina") -> None:
        self.tmp, self.landing, self.name, self.n = tmp, landing, name, 0

    def publish(
        self,
        manutencoes: list[str],
        veiculos: list[str] | None = None,
        *,
        minute: int | None = None,
        as_of: datetime | None = None,
        snapshot: Snapshot | None = None,
    ) -> str:
        """Publish at T0 + `minute` (default: the next minute); returns the batch id."""
        self.n += 1
        folder = self.tmp / f"{self.name}-{self.n}"
        folder.mkdir()
        if veiculos:
            from batchkit import VEIC_HEADER

            (folder / "veiculos.csv").write_text("\n".join([VEIC_HEADER, *veiculos]) + "\n")
        (folder / "manutencoes.csv").write_text("\n".join([HEADER, *manutencoes]) + "\n")
        when = T0 + timedelta(minutes=self.n if minute is None else minute)
        landing = open_landing(self.landing)
        published = publish_dir(
            folder, landing, self.name, now=when, as_of=as_of, snapshot=snapshot
        )
        return published.batch_id


def _setup(tmp_path: Path, db_url: str) -> tuple[Source, object]:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    src = Source(tmp_path, s.landing)
    return src, s


def _counts(batch: object) -> tuple[int, int, int]:
    b = batch
    return (b.manutencoes_inserted, b.manutencoes_updated, b.manutencoes_present)  # type: ignore[attr-defined]


def _reconciles(batch: object) -> None:
    b = batch
    assert b.rows_read == (  # type: ignore[attr-defined]
        b.veiculos_inserted  # type: ignore[attr-defined]
        + b.veiculos_updated  # type: ignore[attr-defined]
        + b.veiculos_stale  # type: ignore[attr-defined]
        + b.manutencoes_inserted  # type: ignore[attr-defined]
        + b.manutencoes_updated  # type: ignore[attr-defined]
        + b.manutencoes_present  # type: ignore[attr-defined]
        + b.manutencoes_stale  # type: ignore[attr-defined]
        + b.quarantined  # type: ignore[attr-defined]
        + b.duplicates  # type: ignore[attr-defined]
    )


def test_the_worked_example(tmp_path: Path, db_url: str) -> None:
    src, s = _setup(tmp_path, db_url)
    src.publish([OIL_OPEN, BRAKES], V1_LINES)
    src.publish([OIL_CLOSED, BRAKES, TYRES])  # overlaps, closes OS-1, adds OS-3
    src.publish([BRAKES_FIXED])  # corrects OS-2's cost
    src.publish([WASH, WASH])  # two identical services, no number
    src.publish([WASH, WASH, WASH])  # the same two again, and a third
    batches = load_pending(s, today=TODAY).loaded
    assert [_counts(b) for b in batches] == [
        (2, 0, 0),
        (1, 1, 1),
        (0, 1, 0),
        (2, 0, 0),
        (1, 0, 2),
    ]
    for b in batches:
        _reconciles(b)
    stored = query(
        db_url,
        "SELECT id_origem, data_conclusao, custo, lote_id FROM manutencoes "
        "WHERE id_origem IS NOT NULL ORDER BY id_origem",
    )
    first, second, third = (b.batch_id for b in batches[:3])
    assert [(o, str(c) if c else None, f"{float(k):.2f}", lote) for o, c, k, lote in stored] == [
        ("OS-1", "2026-01-06", "850.00", first),  # closed, and still the first batch's row
        ("OS-2", None, "1324.56", first),
        ("OS-3", "2026-01-21", "2400.00", second),
    ]
    assert query(db_url, "SELECT COUNT(*) FROM manutencoes WHERE id_origem IS NULL") == [(3,)]
    history = query(
        db_url,
        "SELECT chave, lote_id, mudanca, id_origem, data_conclusao, custo "
        "FROM frota_manutencoes_historico ORDER BY id",
    )
    assert [(h[0], h[1], h[2], h[3]) for h in history] == [
        (work_order_key("oficina", "OS-1"), second, "update", "OS-1"),
        (work_order_key("oficina", "OS-2"), third, "update", "OS-2"),
    ]
    assert str(history[0][4]) == "2026-01-06" and f"{float(history[1][5]):.2f}" == "1324.56"


def test_overlapping_exports_load_each_record_once(tmp_path: Path, db_url: str) -> None:
    """The issue's first scenario: 5 maintenances, then the same 5 plus 1 -> 6 rows."""
    src, s = _setup(tmp_path, db_url)
    five = [f"ABC1234,Troca de óleo e filtros,2024-01-{d:02d},1234.56,,,," for d in range(10, 15)]
    src.publish(five, V1_LINES)
    src.publish([*five, "ABC1234,Pneus,2024-02-01,99.90,,,,"])
    first, second = load_pending(s, today=TODAY).loaded
    assert (_counts(first), _counts(second)) == ((5, 0, 0), (1, 0, 5))
    assert query(db_url, "SELECT COUNT(*), SUM(custo) FROM manutencoes")[0][0] == 6


def test_a_work_order_repeated_in_one_batch(tmp_path: Path, db_url: str) -> None:
    """Different values: both copies held with a reason; identical copies: counted once."""
    src, s = _setup(tmp_path, db_url)
    src.publish([OIL_OPEN, BRAKES, OIL_CLOSED, TYRES, TYRES], V1_LINES)
    [batch] = load_pending(s, today=TODAY).loaded
    assert _counts(batch) == (2, 0, 0)
    assert (batch.quarantined, batch.duplicates) == (2, 1)
    _reconciles(batch)
    held = query(db_url, "SELECT line, reason, column_name FROM frota_quarantine ORDER BY line")
    assert held == [
        (2, "conflicting_id_origem", "id_origem"),
        (4, "conflicting_id_origem", "id_origem"),
    ]
    assert query(db_url, "SELECT id_origem FROM manutencoes ORDER BY id_origem") == [
        ("OS-2",),
        ("OS-3",),
    ]


def test_the_same_work_order_from_two_sources_is_two_records(tmp_path: Path, db_url: str) -> None:
    src, s = _setup(tmp_path, db_url)
    other = Source(tmp_path, s.landing, "frota2")
    src.publish([OIL_OPEN], V1_LINES)
    other.n = 5
    other.publish([OIL_CLOSED])
    first, second = load_pending(s, today=TODAY).loaded
    assert (_counts(first), _counts(second)) == ((1, 0, 0), (1, 0, 0))
    keys = {k for (k,) in query(db_url, "SELECT chave FROM manutencoes")}
    assert keys == {work_order_key("oficina", "OS-1"), work_order_key("frota2", "OS-1")}


def test_held_rows_keep_their_identity(tmp_path: Path, db_url: str) -> None:
    """A row held for its vehicle is released as its batch's record; a later correction and a
    quarantine retry of a corrected copy update that record."""
    src, s = _setup(tmp_path, db_url)
    late = "KLM1J23,Revisão,2026-02-01,500.00,,,,OS-9"
    src.publish([late, WASH], V1_LINES)  # KLM1J23 is not known yet
    src.publish([], ["KLM1J23,Ônibus,ativo,80000,2022-02-02"])
    src.publish([late.replace("500.00", "550.00")])
    first, arrival, fix = load_pending(s, today=TODAY).loaded
    assert (first.quarantined, arrival.released, _counts(fix)) == (1, 1, (0, 1, 0))
    lote = query(db_url, "SELECT lote_id FROM manutencoes WHERE id_origem = 'OS-9'")
    assert lote == [(arrival.batch_id,)]
    # A copy of OS-9 dated after "today" is held; a retry once that day has come updates
    # the record instead of adding one.
    src.publish(["KLM1J23,Revisão,2026-07-05,560.00,,,,OS-9"])
    [held] = load_pending(s, today=TODAY).loaded
    assert held.quarantined == 1
    result = retry_quarantine(s, today=TODAY + timedelta(days=10))
    assert (result.manutencoes_inserted, result.manutencoes_updated) == (0, 1)
    stored = query(
        db_url, "SELECT data_manutencao, custo FROM manutencoes WHERE id_origem = 'OS-9'"
    )
    assert [(str(d), f"{float(c):.2f}") for d, c in stored] == [("2026-07-05", "560.00")]
    changes = query(db_url, "SELECT mudanca, lote_id FROM frota_manutencoes_historico ORDER BY id")
    assert changes == [("update", fix.batch_id), ("update", result.batch_id)]


def test_generated_batches_insert_update_and_resend(tmp_path: Path, db_url: str) -> None:
    """The generator's work orders: an open visit is sent again closed (an update) and now
    and then a closed row again unchanged (present); counted against the files themselves."""
    import csv
    from datetime import date

    from frota.generate import generate_batch

    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    outbox = tmp_path / "outbox"
    until = date(2026, 5, 31)
    steps = [
        generate_batch(outbox, seed=11, vehicles=150, until=until, days=90),
        generate_batch(outbox, seed=11, vehicles=150, until=until + timedelta(days=45)),
    ]
    rows = []
    for step in steps:
        with open(step.out_dir / "manutencoes.csv", encoding="utf-8", newline="") as fh:
            rows.append(list(csv.DictReader(fh)))
        publish_dir(step.out_dir, open_landing(s.landing), "gen")
    first, second = load_pending(s, today=until + timedelta(days=60)).loaded
    before = {r["id_origem"]: r for r in rows[0]}
    closed = sum(1 for r in rows[1] if r["id_origem"] in before and r != before[r["id_origem"]])
    same = sum(1 for r in rows[1] if before.get(r["id_origem"]) == r)
    assert closed > 0 and same > 0
    assert _counts(first) == (len(rows[0]), 0, 0)
    assert _counts(second) == (len(rows[1]) - closed - same, closed, same)
    total = len({r["id_origem"] for r in rows[0] + rows[1]})
    assert query(db_url, "SELECT COUNT(*) FROM manutencoes") == [(total,)]


def _state(db_url: str) -> dict[str, tuple[str | None, str]]:
    """Each work order as stored: id_origem -> (data_conclusao, custo)."""
    rows = query(db_url, "SELECT id_origem, data_conclusao, custo FROM manutencoes")
    return {o: (str(c) if c else None, f"{float(k):.2f}") for o, c, k in rows}


def _newest_sent(sent: list[tuple[datetime, list[str]]]) -> dict[str, tuple[str | None, str]]:
    """The independent answer: each work order as the batch with the latest data time that
    carried it sent it, read from the CSV lines themselves."""
    state: dict[str, tuple[str | None, str]] = {}
    for _, lines in sorted(sent, key=lambda s: s[0]):
        for line in lines:
            cells = line.split(",")
            state[cells[7]] = (cells[6] or None, cells[3])
    return state


def _history(db_url: str) -> list[tuple]:
    """(id_origem, batch, change, data_conclusao, custo) in the batches' publish order."""
    rows = query(
        db_url,
        "SELECT h.id_origem, h.lote_id, h.mudanca, h.data_conclusao, h.custo "
        "FROM frota_manutencoes_historico h JOIN frota_batches b ON b.batch_id = h.lote_id "
        "ORDER BY b.as_of, b.ordem, h.id",
    )
    return [(o, lote, how, str(c) if c else None, f"{float(k):.2f}") for o, lote, how, c, k in rows]


def _as_of(db_url: str, batch_ids: list[str]) -> dict[str, tuple[str | None, str]]:
    """The records as frota snapshot reads them as of the last of `batch_ids` (all loaded)."""
    from frota.contract import MANUTENCOES
    from frota.db.engine import create_engine
    from frota.db.schema import batches
    from frota.ops.snapshot import maintenance_rows, snapshot_columns

    names = [c.name for c in snapshot_columns(MANUTENCOES)]
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows, _ = maintenance_rows(conn, batches.c.batch_id.in_(batch_ids))
    finally:
        engine.dispose()
    found = [dict(zip(names, r, strict=True)) for r in rows]
    return {
        r["id_origem"]: (
            str(r["data_conclusao"]) if r["data_conclusao"] else None,
            f"{r['custo']:.2f}",
        )
        for r in found
    }


def _warehouse_state(tmp_path: Path, s) -> dict[str, tuple[str | None, str]]:
    """The records as the warehouse's raw layer holds them: each one's latest copy."""
    from dataclasses import replace

    import duckdb

    from frota.warehouse import replicate_only

    path = tmp_path / "wh.duckdb"
    replicate_only(replace(s, warehouse=f"duckdb:///{path}"))
    with duckdb.connect(str(path)) as wh:
        rows = wh.execute(
            "SELECT id_origem, data_conclusao, custo FROM raw.manutencoes "
            "QUALIFY row_number() OVER (PARTITION BY id "
            "ORDER BY _replication_seq DESC, _mudanca_id DESC) = 1"
        ).fetchall()
    return {o: (str(c) if c else None, f"{float(k):.2f}") for o, c, k in rows}


def test_a_late_open_copy_does_not_reopen_a_completed_work_order(
    tmp_path: Path, db_url: str
) -> None:
    """Issue 11: the export that closed OS-1 is loaded; then one published before it, OS-1
    still open, reaches the landing late. OS-1 stays closed, and the history keeps the late
    copy as 'stale' at its batch's place; the late batch's correction of OS-2, which no newer
    batch wrote, applies. The snapshot and the warehouse read the same state."""
    src, s = _setup(tmp_path, db_url)
    minute = [T0 + timedelta(minutes=n) for n in range(4)]
    sent = [(minute[1], [OIL_OPEN, BRAKES]), (minute[3], [OIL_CLOSED, TYRES])]
    first = src.publish(sent[0][1], V1_LINES, minute=1)
    closing = src.publish(sent[1][1], minute=3)
    assert [b.batch_id for b in load_pending(s, today=TODAY).loaded] == [first, closing]
    sent.append((minute[2], [OIL_OPEN, BRAKES_FIXED]))  # published at minute 2, arrives now
    late_id = src.publish(sent[2][1], minute=2)
    [late] = load_pending(s, today=TODAY).loaded
    assert late.batch_id == late_id
    assert _counts(late) == (0, 1, 0)  # OS-2 corrected
    assert late.manutencoes_stale == 1  # OS-1: a newer state is stored
    _reconciles(late)
    assert _state(db_url) == _newest_sent(sent)
    assert _state(db_url)["OS-1"] == ("2026-01-06", "850.00")
    assert _history(db_url) == [
        ("OS-1", late_id, "stale", None, "850.00"),  # minute 2: the open copy, kept
        ("OS-2", late_id, "update", None, "1324.56"),
        ("OS-1", closing, "update", "2026-01-06", "850.00"),  # minute 3: the state
    ]
    assert _as_of(db_url, [first, closing, late_id]) == _state(db_url)
    assert _as_of(db_url, [first, closing])["OS-1"] == ("2026-01-06", "850.00")
    assert _warehouse_state(tmp_path, s) == _state(db_url)


def test_a_late_original_does_not_undo_a_correction(tmp_path: Path, db_url: str) -> None:
    """OS-2's corrected cost is loaded; then an export whose data is from before the correction
    (published later, with an older --as-of) re-sends the original cost: the correction
    stays, the original is in the history as 'stale'."""
    src, s = _setup(tmp_path, db_url)
    sent = [
        (T0 + timedelta(minutes=1), [BRAKES]),
        (T0 + timedelta(minutes=2), [BRAKES_FIXED]),
        (T0 + timedelta(minutes=1, seconds=30), [BRAKES]),
    ]
    src.publish(sent[0][1], V1_LINES)
    fixed = src.publish(sent[1][1])
    old = src.publish(sent[2][1], minute=3, as_of=sent[2][0])
    loaded = load_pending(s, today=TODAY).loaded
    assert [_counts(b) for b in loaded] == [(1, 0, 0), (0, 1, 0), (0, 0, 0)]
    assert [b.manutencoes_stale for b in loaded] == [0, 0, 1]
    for b in loaded:
        _reconciles(b)
    assert _state(db_url) == _newest_sent(sent) == {"OS-2": (None, "1324.56")}
    assert _history(db_url) == [
        ("OS-2", old, "stale", None, "1234.56"),  # as of minute 1:30
        ("OS-2", fixed, "update", None, "1324.56"),
    ]
    assert _as_of(db_url, [b.batch_id for b in loaded]) == _state(db_url)
    assert _warehouse_state(tmp_path, s) == _state(db_url)


def test_a_late_snapshot_retires_nothing_a_newer_batch_wrote(tmp_path: Path, db_url: str) -> None:
    """A snapshot export of January published at minute 2 arrives after the minute-3 batch that
    added OS-3: OS-3 was not in the source yet when the snapshot was taken, so it stays; OS-2,
    which only the older batch 1 wrote, is retired; OS-1 keeps its newer, closed state."""
    src, s = _setup(tmp_path, db_url)
    src.publish([OIL_OPEN, BRAKES], V1_LINES, minute=1)
    src.publish([OIL_CLOSED, TYRES], minute=3)
    load_pending(s, today=TODAY)
    january = Snapshot(date(2026, 1, 1), date(2026, 1, 31), allow_retire=True)
    late_id = src.publish([OIL_OPEN], minute=2, snapshot=january)
    [late] = load_pending(s, today=TODAY).loaded
    assert (late.batch_id, late.manutencoes_retired, _counts(late)) == (late_id, 1, (0, 0, 0))
    assert late.manutencoes_stale == 1
    in_force = query(db_url, "SELECT id_origem FROM manutencoes WHERE retirada_lote IS NULL")
    assert sorted(o for (o,) in in_force) == ["OS-1", "OS-3"]
    assert _state(db_url)["OS-1"] == ("2026-01-06", "850.00")
    changes = [(o, how) for o, lote, how, _, _ in _history(db_url) if lote == late_id]
    assert sorted(changes) == [("OS-1", "stale"), ("OS-2", "retire")]


def test_a_retried_old_copy_does_not_overwrite_a_newer_state(tmp_path: Path, db_url: str) -> None:
    """Batch 1 holds two different copies of OS-1 (conflicting_id_origem); batch 2, newer,
    closes OS-1. A person then releases one copy of batch 1 (`quarantine retry --id`): judged
    by its batch, it is older than batch 2, so OS-1 stays closed and the released copy is in
    the history as 'stale' (under the retry's ledger entry); a copy of a work order no newer
    batch wrote still applies."""
    src, s = _setup(tmp_path, db_url)
    oil_dearer = OIL_OPEN.replace("850.00", "860.00")
    brakes_dearer = BRAKES.replace("1234.56", "1300.00")
    src.publish([OIL_OPEN, oil_dearer, BRAKES, brakes_dearer], V1_LINES)
    src.publish([OIL_CLOSED])
    first, closing = load_pending(s, today=TODAY).loaded
    assert (first.quarantined, _counts(closing)) == (4, (1, 0, 0))
    held = dict(query(db_url, "SELECT line, id FROM frota_quarantine"))
    result = retry_quarantine(s, ids=[held[2], held[4]], today=TODAY)  # OS-1 open, OS-2
    inserted_updated_present_stale = (
        result.manutencoes_inserted,
        result.manutencoes_updated,
        result.manutencoes_present,
        result.manutencoes_stale,
    )
    assert inserted_updated_present_stale == (1, 0, 0, 1)
    assert _state(db_url) == {"OS-1": ("2026-01-06", "850.00"), "OS-2": (None, "1234.56")}
    assert [h[:3] for h in _history(db_url)] == [("OS-1", result.batch_id, "stale")]
    assert _warehouse_state(tmp_path, s) == _state(db_url)


# Issue 14 leftovers: a held row released later is judged by the batch it came from.
OS9 = "KLM1J23,Revisão,2026-02-01,{cost},,,,OS-9"
KLM = "KLM1J23,Ônibus,ativo,80000,2022-02-02"


def _os9(db_url: str) -> tuple[str, str]:
    """OS-9 as stored: (plate, cost)."""
    [(placa, custo)] = query(
        db_url,
        "SELECT placa_veiculo, custo FROM manutencoes WHERE chave = :k",
        k=work_order_key("oficina", "OS-9"),
    )
    return placa, f"{float(custo):.2f}"


def test_a_late_batch_that_brings_the_vehicle_keeps_a_newer_held_copy(
    tmp_path: Path, db_url: str
) -> None:
    """The minute-3 batch's OS-9 waits for its vehicle; the minute-2 batch, loaded late, brings
    the vehicle and an older OS-9: the held newer copy is released and stays, the late batch's
    own copy is 'stale' (it used to overwrite it: the released copy was judged as the late
    batch's row)."""
    src, s = _setup(tmp_path, db_url)
    src.publish([WASH], V1_LINES, minute=1)
    newer = src.publish([OS9.format(cost="550.00")], minute=3)
    load_pending(s, today=TODAY)
    late_id = src.publish([OS9.format(cost="500.00")], [KLM], minute=2)
    [late] = load_pending(s, today=TODAY).loaded
    assert (late.batch_id, late.released, _counts(late)) == (late_id, 1, (0, 0, 0))
    assert late.manutencoes_stale == 1
    _reconciles(late)
    assert _os9(db_url) == ("KLM1J23", "550.00")
    assert [h[:3] for h in _history(db_url)] == [("OS-9", late_id, "stale")]
    released = query(db_url, "SELECT batch_id, status, released_batch_id FROM frota_quarantine")
    assert released == [(newer, "released", late_id)]
    assert _warehouse_state(tmp_path, s)["OS-9"] == (None, "550.00")


def test_an_older_held_copy_released_later_keeps_a_newer_state(tmp_path: Path, db_url: str) -> None:
    """Batch 1's OS-9 waits for KLM1J23; batch 2 sends OS-9 on the right plate with another
    cost (stored); batch 3 brings KLM1J23, which releases batch 1's copy: older than batch 2's,
    it goes to the history as 'stale' under batch 3 and OS-9 stays as batch 2 wrote it."""
    src, s = _setup(tmp_path, db_url)
    src.publish([WASH, OS9.format(cost="500.00")], V1_LINES)
    src.publish([OS9.format(cost="550.00").replace("KLM1J23", "ABC1234")])
    src.publish([], [KLM])
    first, fixed, arrival = load_pending(s, today=TODAY).loaded
    assert (first.quarantined, _counts(fixed), arrival.released) == (1, (1, 0, 0), 0)
    assert _os9(db_url) == ("ABC1234", "550.00")
    assert [h[:3] for h in _history(db_url)] == [("OS-9", arrival.batch_id, "stale")]
    assert query(db_url, "SELECT status FROM frota_quarantine") == [("released",)]


def test_held_copies_of_two_batches_released_together_newest_wins(
    tmp_path: Path, db_url: str, monkeypatch
) -> None:
    """OS-9 waits for its vehicle in two batches, the newer one loaded first (its held copy
    comes first in the quarantine); the vehicle arrives: released a row a page, the newer copy
    is the record, the older one 'stale' (not both held as conflicting, not the older last)."""
    import frota.load.maintenances as maintenances

    monkeypatch.setattr(maintenances, "_RELEASE_PAGE", 1)
    src, s = _setup(tmp_path, db_url)
    src.publish([WASH], V1_LINES, minute=1)
    src.publish([OS9.format(cost="550.00")], minute=3)
    load_pending(s, today=TODAY)
    src.publish([OS9.format(cost="500.00")], minute=2)
    load_pending(s, today=TODAY)
    src.publish([], [KLM], minute=4)
    [arrival] = load_pending(s, today=TODAY).loaded
    assert arrival.released == 1
    assert _os9(db_url) == ("KLM1J23", "550.00")
    assert [h[:3] for h in _history(db_url)] == [("OS-9", arrival.batch_id, "stale")]
    statuses = query(db_url, "SELECT status FROM frota_quarantine")
    assert statuses == [("released",), ("released",)]


def test_a_retry_judges_each_copy_by_its_own_batch(tmp_path: Path, db_url: str) -> None:
    """Two copies of OS-9 dated after 'today' are held, the newer batch's first; a retry once
    that day has come takes both: the newer copy is the record, the older one 'stale' (it was
    applied after it and, the retry's own write not being a newer batch, overwrote it)."""
    src, s = _setup(tmp_path, db_url)
    future = "ABC1234,Revisão,2026-07-05,{cost},,,,OS-9"
    src.publish([WASH], V1_LINES, minute=1)
    src.publish([future.format(cost="560.00")], minute=3)
    load_pending(s, today=TODAY)
    src.publish([future.format(cost="540.00")], minute=2)
    load_pending(s, today=TODAY)
    result = retry_quarantine(s, today=TODAY + timedelta(days=10))
    inserted_updated_present_stale = (
        result.manutencoes_inserted,
        result.manutencoes_updated,
        result.manutencoes_present,
        result.manutencoes_stale,
    )
    assert (result.released, inserted_updated_present_stale) == (2, (1, 0, 0, 1))
    assert _os9(db_url) == ("ABC1234", "560.00")
    assert [h[:3] for h in _history(db_url)] == [("OS-9", result.batch_id, "stale")]


# ---------------------------------------------------------------- the ledger's stale count (0007)

AT_0006 = "7c3bc4d"  # main at schema revision 0006 (stale rows counted as already present)
_LEDGER_SUM = (
    "veiculos_inserted + veiculos_updated + veiculos_stale + manutencoes_inserted"
    " + manutencoes_updated + manutencoes_present + manutencoes_stale + quarantined + duplicates"
)


@pytest.fixture(scope="module")
def at_0006(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The src/ folder of frota at revision 0006, from this repository's history."""
    from test_db_migrations import source_at

    return source_at(AT_0006, tmp_path_factory)


def test_a_0006_ledger_upgrades_and_new_batches_count_stale_apart(
    at_0006: Path, tmp_path: Path, db_url: str
) -> None:
    """Loaded by frota at 0006, a late batch's stale row is counted already present; after the
    upgrade that ledger row is as it was (stale 0) and still reconciles, and a late batch
    loaded now counts its stale row apart, in the ledger too."""
    from test_db_migrations import new_frota, old_frota

    s = settings_for(tmp_path, db_url)
    src = Source(tmp_path, s.landing)
    old_frota(at_0006, "--database", db_url, "db", "init", cwd=tmp_path)
    src.publish([OIL_OPEN, BRAKES], V1_LINES, minute=1)
    src.publish([OIL_CLOSED], minute=4)
    old_frota(at_0006, "--database", db_url, "--landing", s.landing, "load", cwd=tmp_path)
    old_late = src.publish([OIL_OPEN], minute=2)
    old_frota(at_0006, "--database", db_url, "--landing", s.landing, "load", cwd=tmp_path)
    columns = "batch_id, rows_read, manutencoes_present"
    before = query(db_url, f"SELECT {columns} FROM frota_batches ORDER BY batch_id")
    assert (old_late, 1, 1) in before
    upgrade = new_frota("--database", db_url, "db", "upgrade", cwd=tmp_path)
    _out, err = upgrade.communicate(timeout=300)
    assert upgrade.returncode == 0, err
    assert query(db_url, f"SELECT {columns} FROM frota_batches ORDER BY batch_id") == before
    new_late = src.publish([OIL_OPEN.replace("850.00", "860.00")], minute=3)
    [late] = load_pending(s, today=TODAY).loaded
    assert (late.batch_id, late.manutencoes_present, late.manutencoes_stale) == (new_late, 0, 1)
    ledger = query(
        db_url,
        f"SELECT batch_id, rows_read, {_LEDGER_SUM}, manutencoes_present, manutencoes_stale "
        "FROM frota_batches",
    )
    assert all(read == accounted for _, read, accounted, _, _ in ledger)
    stale = {b: (present, stale) for b, _, _, present, stale in ledger}
    assert (stale[old_late], stale[new_late]) == ((1, 0), (0, 1))
