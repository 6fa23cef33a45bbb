"""Every maintenance exactly once (issue 11, DESIGN §5b): overlapping exports, corrections,
completions, identical services, work orders repeated in a batch or shared by two sources, on
every backend. Expected figures come from the worked example in docs/data-contract.md."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from batchkit import MANUT_HEADER, T0, TODAY, V1_LINES, init_db, query, settings_for

from frota.contract.identity import origin_key
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

    def publish(self, manutencoes: list[str], veiculos: list[str] | None = None) -> None:
        self.n += 1
        folder = self.tmp / f"{self.name}-{self.n}"
        folder.mkdir()
        if veiculos:
            from batchkit import VEIC_HEADER

            (folder / "veiculos.csv").write_text("\n".join([VEIC_HEADER, *veiculos]) + "\n")
        (folder / "manutencoes.csv").write_text("\n".join([HEADER, *manutencoes]) + "\n")
        when = T0 + timedelta(minutes=self.n)
        publish_dir(folder, open_landing(self.landing), self.name, now=when)


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
        (origin_key("oficina", "OS-1"), second, "update", "OS-1"),
        (origin_key("oficina", "OS-2"), third, "update", "OS-2"),
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
    assert keys == {origin_key("oficina", "OS-1"), origin_key("frota2", "OS-1")}


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
