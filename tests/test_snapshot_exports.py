"""Snapshot exports (issue 11): `publish --from DIR --snapshot` declares the export complete for
its period; the loader retires (soft-deletes) the source's stored maintenances of that period
it lacks, refuses to retire more than snapshot_max_retire_share unless --allow-retire, and
restores a retired record that comes back. On every backend."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from batchkit import MANUT_HEADER, T0, TODAY, V1_LINES, VEIC_HEADER, init_db, query, settings_for
from click.testing import CliRunner

from frota.cli import cli
from frota.config import Settings
from frota.errors import BadInputError
from frota.load import load_pending
from frota.publish import publish_export

HEADER = MANUT_HEADER + ",OS"
JANUARY = (date(2026, 1, 1), date(2026, 1, 5))


def _order(n: int, day: int = 0, cost: str = "100.00") -> str:
    return f"ABC1234,Revisão,2026-01-{day or n:02d},{cost},,,,OS-{n}"


class Exports:
    """One source's exports, published through `publish --from` a minute apart."""

    def __init__(self, tmp: Path, s: Settings, source: str = "oficina") -> None:
        self.tmp, self.s, self.n = tmp, s.with_overrides(source=source), 0

    def publish(self, lines: list[str], veiculos: list[str] | None = None, **kw):
        self.n += 1
        folder = self.tmp / f"{self.s.source}-{self.n}"
        folder.mkdir()
        if veiculos:
            (folder / "veiculos.csv").write_text("\n".join([VEIC_HEADER, *veiculos]) + "\n")
        (folder / "manutencoes.csv").write_text("\n".join([HEADER, *lines]) + "\n")
        return publish_export(folder, self.s, now=T0 + timedelta(minutes=self.n), **kw)


def _active(db_url: str) -> list[str]:
    rows = query(db_url, "SELECT id_origem FROM manutencoes WHERE retirada_lote IS NULL")
    return sorted(r[0] for r in rows)


def _setup(tmp_path: Path, db_url: str) -> tuple[Exports, Settings]:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    exports = Exports(tmp_path, s)
    exports.publish([_order(n) for n in range(1, 6)], V1_LINES)  # OS-1..OS-5, Jan 1..5
    load_pending(s, today=TODAY)
    return exports, s


def test_a_snapshot_retires_what_it_lacks_and_a_return_restores_it(
    tmp_path: Path, db_url: str
) -> None:
    exports, s = _setup(tmp_path, db_url)
    other = Exports(tmp_path, s, "frota2")
    other.n = 1  # published between the first export and the snapshot
    other.publish(["ABC1234,Pneus,2026-01-03,50.00,,,,OS-5"])  # another source's OS-5
    exports.publish(["BRA2E19,Freios,2026-02-10,10.00,,,,OS-9"])  # outside the period
    # Complete for Jan 1..5: OS-5 is gone (1 of 5 = 20 %: at the limit, allowed), OS-6 new.
    lines = [_order(n) for n in (1, 2, 3, 4)] + [_order(6, day=4)]
    sent = exports.publish(lines, snapshot=True, period=JANUARY)
    loaded = load_pending(s, today=TODAY).loaded
    [snapshot] = [b for b in loaded if b.batch_id == sent.batch_id]
    assert (snapshot.manutencoes_inserted, snapshot.manutencoes_present) == (1, 4)
    assert snapshot.manutencoes_retired == 1
    assert _active(db_url) == ["OS-1", "OS-2", "OS-3", "OS-4", "OS-5", "OS-6", "OS-9"]
    retired = query(
        db_url,
        "SELECT m.id_origem, m.retirada_lote, b.source FROM manutencoes m "
        "JOIN frota_batches b ON b.batch_id = m.lote_id WHERE m.retirada_lote IS NOT NULL",
    )
    assert retired == [("OS-5", snapshot.batch_id, "oficina")]  # frota2's OS-5 stays
    ledger = query(
        db_url,
        "SELECT manutencoes_retired FROM frota_batches WHERE batch_id = :b",
        b=snapshot.batch_id,
    )
    assert ledger == [(1,)]
    # The record comes back in a later export: restored, with its history.
    exports.publish([_order(5)])
    [back] = load_pending(s, today=TODAY).loaded
    assert (back.manutencoes_inserted, back.manutencoes_updated) == (0, 1)
    assert "OS-5" in _active(db_url) and len(_active(db_url)) == 8
    history = query(
        db_url, "SELECT id_origem, mudanca, lote_id FROM frota_manutencoes_historico ORDER BY id"
    )
    assert history == [("OS-5", "retire", snapshot.batch_id), ("OS-5", "restore", back.batch_id)]


def test_retiring_too_much_is_refused_unless_allowed(tmp_path: Path, db_url: str) -> None:
    exports, s = _setup(tmp_path, db_url)
    exports.publish([_order(1), _order(2), _order(3)], snapshot=True, period=JANUARY)  # 40 %
    result = load_pending(s, today=TODAY)
    assert not result.loaded and len(result.rejected) == 1
    message = str(result.rejected[0])
    assert "would retire 2 of the 5 stored maintenances of oficina" in message
    assert "--allow-retire" in message
    assert _active(db_url) == ["OS-1", "OS-2", "OS-3", "OS-4", "OS-5"]  # nothing changed
    exports.publish(
        [_order(1), _order(2), _order(3)], snapshot=True, period=JANUARY, allow_retire=True
    )
    [allowed] = load_pending(s, today=TODAY).loaded
    assert allowed.manutencoes_retired == 2
    assert _active(db_url) == ["OS-1", "OS-2", "OS-3"]


def test_a_held_row_of_the_snapshot_keeps_its_record(tmp_path: Path, db_url: str) -> None:
    exports, s = _setup(tmp_path, db_url)
    lines = [_order(n) for n in (1, 2, 3, 4)]
    lines.append("ABC1234,Revisão,2026-01-05,-1.00,,,,OS-5")  # OS-5, with a bad cost: held
    exports.publish(lines, snapshot=True, period=JANUARY)
    [batch] = load_pending(s, today=TODAY).loaded
    assert (batch.quarantined, batch.manutencoes_retired) == (1, 0)
    assert len(_active(db_url)) == 5


def test_publish_refuses_an_empty_snapshot_or_rows_outside_its_period(
    tmp_path: Path, db_url: str
) -> None:
    exports, _ = _setup(tmp_path, db_url)
    with pytest.raises(BadInputError, match="without maintenances would retire every record"):
        exports.publish([], snapshot=True)
    with pytest.raises(BadInputError, match="outside the snapshot's period 2026-01-02..2026-01-03"):
        exports.publish(
            [_order(1), _order(2)], snapshot=True, period=(date(2026, 1, 2), date(2026, 1, 3))
        )


def test_the_cli_flags(tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "veiculos.csv").write_text("\n".join([VEIC_HEADER, *V1_LINES]) + "\n")
    (folder / "manutencoes.csv").write_text("\n".join([HEADER, _order(1), _order(3)]) + "\n")
    base = ["--landing", str(tmp_path / "landing"), "--database", sqlite_url]
    runner = CliRunner()
    misuse = runner.invoke(cli, [*base, "publish", "--period", "2026-01-01..2026-01-31"])
    assert misuse.exit_code != 0 and "--period goes with --snapshot" in misuse.output
    bad = runner.invoke(
        cli, [*base, "publish", "--from", str(folder), "--snapshot", "--period", "31/01/2026"]
    )
    assert bad.exit_code != 0 and "not a period like 2026-01-01..2026-01-31" in bad.output
    done = runner.invoke(
        cli,
        [
            *base,
            "publish",
            "--from",
            str(folder),
            "--snapshot",
            "--period",
            "2026-01-01..2026-01-31",
        ],
    )
    assert done.exit_code == 0, done.output
    manifests = list((tmp_path / "landing").rglob("_manifest.json"))
    assert len(manifests) == 1
    text = manifests[0].read_text()
    assert '"start": "2026-01-01"' in text and '"end": "2026-01-31"' in text
    loaded = load_pending(
        settings_for(tmp_path, sqlite_url), today=TODAY + timedelta(days=1)
    ).loaded
    assert [b.manutencoes_inserted for b in loaded] == [2]


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "retired 1 stored maintenance its period lacks"),
        ("pt-BR", "retirou 1 manutenção guardada que falta no seu período"),
    ],
)
def test_load_says_what_a_snapshot_retired(
    tmp_path: Path, sqlite_url: str, lang: str, said: str
) -> None:
    """Retired records are not rows read, so the load table leaves them out; a line under it
    names the snapshot and how many it retired, in the user's language."""
    exports, s = _setup(tmp_path, sqlite_url)
    snapshot = exports.publish([_order(1), _order(3), _order(4), _order(5)], snapshot=True)
    base = ["--landing", s.landing, "--database", sqlite_url, "--lang", lang]
    result = CliRunner().invoke(cli, [*base, "load"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # the line wraps at 80 columns
    assert said in text and f"frota batch show {snapshot.batch_id}" in text, result.output
    assert _active(sqlite_url) == ["OS-1", "OS-3", "OS-4", "OS-5"]
