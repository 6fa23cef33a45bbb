"""`frota quarantine retry`: re-validate held rows (after a vehicle arrived or a rule changed)
and load those that now pass, under the load lock, in one transaction, with the loader's own
rules: the vehicle rule and upsert (`VehicleUpsert`), the release of the maintenances waiting
for a vehicle it wrote (`release_held`), and a ledger entry of its own (`record_batch`), so the
warehouse, which replicates by ledger entry, sees what it wrote.

Idempotent: a released row is never loaded again, and a row that still fails stays held (its
reason updated). Rows held as `duplicate_row` or `conflicting_duplicate` wait for a person's
decision: a retry only takes them when asked for by `--reason` (duplicates) or by `--id` (a
conflict: release the right copy, never "last one wins").

With a corrected sheet (`frota quarantine retry --from FILE`, see `frota.ops.quarantine.excel`)
the rows it lists get its values first, with a note naming the sheet, in the same transaction,
and only those rows are retried; one waiting for a decision is retried only if the sheet
changed it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.batch import format_time, make_batch_id
from frota.config import Settings
from frota.contract import MANUTENCOES, RETRY_SOURCE, TABLES_BY_NAME, VEICULOS, Table
from frota.contract.identity import ORIGIN, work_order_key
from frota.contract.validate import Problem, parse_row
from frota.db.history import Version
from frota.db.schema import batches, quarantine, veiculos
from frota.errors import BadInputError
from frota.i18n import _
from frota.load.ledger import LedgerEntry, batch_version, record_batch
from frota.load.maintenances import note_written, release_held, unknown_vehicle
from frota.load.quarantine import mark_released
from frota.load.stage import apply_record, free_occurrence_key
from frota.load.vehicles import Change, VehicleUpsert
from frota.observe.runs import recorded
from frota.ops.engine import locked_transaction
from frota.ops.notes import operator
from frota.ops.quarantine.excel import Correction, as_read_back
from frota.ops.quarantine.rows import DECISION_REASONS, PAGE, HeldRow, filters, held_row, pages


@dataclass
class RetryResult:
    """What a retry did; `examined` = released + still_held."""

    examined: int = 0
    released: int = 0
    still_held: int = 0
    reason_changed: int = 0
    not_retryable: int = 0  # no parsed values kept (ragged row, repeated header, huge row)
    veiculos_inserted: int = 0
    veiculos_updated: int = 0
    veiculos_stale: int = 0
    manutencoes_inserted: int = 0
    manutencoes_updated: int = 0  # a work order's stored record changed (or restored)
    manutencoes_present: int = 0  # the record was stored already, unchanged
    manutencoes_stale: int = 0  # a newer batch wrote the record: in the history as 'stale'
    by_reason: dict[str, int] = field(default_factory=dict)  # reasons of rows still held
    not_held: int = 0  # rows of a corrected sheet already released or dismissed: left alone
    corrected: int = 0  # rows whose values a corrected sheet changed
    batch_id: str | None = None  # the ledger entry of what this retry wrote, if anything

    @property
    def rows_written(self) -> int:
        return (
            self.veiculos_inserted
            + self.veiculos_updated
            + self.manutencoes_inserted
            + self.manutencoes_updated
        )


@recorded(
    "quarantine retry",
    counts=lambda r: {
        "examined": r.examined,
        "released": r.released,
        "still_held": r.still_held,
        "rows_written": r.rows_written,
    },
)
def retry_quarantine(
    settings: Settings,
    *,
    batch: str | None = None,
    reason: str | None = None,
    ids: Sequence[int] = (),
    today: date | None = None,
    corrections: Sequence[Correction] = (),
    sheet: str = "",
) -> RetryResult:
    """Re-validate held rows and load those that now pass (one transaction, load lock held).

    `corrections` (read from the corrected sheet named `sheet`): only those rows, with the
    sheet's values."""
    with locked_transaction(settings, "the retry") as conn:
        retry = _Retry(conn, today or date.today())
        if corrections:
            ids = retry.correct(corrections, sheet)
            if not ids:
                return retry.result
        where = filters(batch, reason, "held", ids)
        if not ids and reason not in DECISION_REASONS:
            where.append(quarantine.c.reason.not_in(sorted(DECISION_REASONS)))
        result = retry.run(where)
        if result.rows_written:
            retry.record_in_ledger()
    return result


class _Retry:
    def __init__(self, conn: Connection, today: date) -> None:
        self.conn, self.today = conn, today
        now = datetime.now(UTC)
        self.now = now.replace(tzinfo=None)
        self.result = RetryResult()
        self.held: dict[str, int] = {}
        # What a retry writes is lineaged to a ledger entry of its own, like a batch, so the
        # warehouse (which replicates by ledger entry) sees it; the rows' original batch
        # still decides "newer wins" for vehicles.
        self.content = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
        self.batch_id = make_batch_id(RETRY_SOURCE, self.content, now)
        # Its own place in the order (now): rows it writes are judged by their own batch's.
        ordem = f"{format_time(now)}|{RETRY_SOURCE}|{0:010d}|{self.content[:8]}"
        self.version = Version(self.now, ordem)
        # Maintenance keys it wrote, with the version of each row's batch (load/stage.py).
        self.written: dict[str, Version] = {}

    def run(self, where: list[Any]) -> RetryResult:
        new_placas = sorted(self._vehicles(where))
        self._maintenances(where)
        # Vehicles that arrived now release the maintenances waiting for them.
        for i in range(0, len(new_placas), PAGE):
            released = release_held(
                self.conn,
                self.batch_id,
                self.today,
                self.now,
                placas=new_placas[i : i + PAGE],
                on_problem=lambda qid, problem: self._keep(self._row(qid), problem),
                written=self.written,
            )
            self.result.examined += released.taken
            self.result.released += released.taken
            self.result.manutencoes_inserted += released.inserted
            self.result.manutencoes_updated += released.updated
        self.result.by_reason = dict(sorted(self.held.items()))
        return self.result

    def correct(self, corrections: Sequence[Correction], sheet: str) -> list[int]:
        """Give the held rows the sheet's values (noted); the ids to retry."""
        retry: list[int] = []
        by_id = {c.id: c for c in corrections}
        found = {
            r.id: held_row(r)
            for r in self.conn.execute(
                sa.select(quarantine).where(quarantine.c.id.in_(sorted(by_id)))
            )
        }
        for c in corrections:
            row = found.get(c.id)
            if row is None or row.table_name != c.table:
                raise BadInputError(
                    _("no held {table} row with quarantine id {id}").format(table=c.table, id=c.id),
                    file=sheet,
                    line=c.line,
                    hint=_("retry the sheet `frota quarantine export --format excel-br` wrote"),
                )
            if row.status != "held":
                self.result.not_held += 1
                continue
            if (c.values, c.extra) == as_read_back(TABLES_BY_NAME[c.table], row):
                if row.reason not in DECISION_REASONS:  # unchanged: a decision stays waiting
                    retry.append(c.id)
                continue
            if c.extra:  # fields still beyond the header: not a row yet, it stays held
                self._keep(row, None)
                continue
            self.conn.execute(
                quarantine.update()
                .where(quarantine.c.id == c.id)
                .values(
                    values_json=json.dumps(c.values, ensure_ascii=False),
                    placa=c.values.get("placa") or c.values.get("placa_veiculo") or row.placa,
                    note=f"corrected in {sheet}"[:2000],
                    noted_at=self.now,
                    noted_by=operator(),
                )
            )
            self.result.corrected += 1
            retry.append(c.id)
        return retry

    def record_in_ledger(self) -> None:
        """The ledger row of this retry (same transaction as the rows it wrote)."""
        r = self.result
        r.batch_id = self.batch_id
        entry = LedgerEntry(
            batch_id=self.batch_id,
            source=RETRY_SOURCE,
            created_at=self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            content_sha256=self.content,
            loaded_at=self.now,
            run_id=self.batch_id[-8:],
            published_at=self.now,
            sequence=0,
            as_of=self.now,
            ordem=self.version.ordem,
            rows_read=r.released,
            veiculos_inserted=r.veiculos_inserted,
            veiculos_updated=r.veiculos_updated,
            veiculos_stale=r.veiculos_stale,
            manutencoes_inserted=r.manutencoes_inserted,
            manutencoes_updated=r.manutencoes_updated,
            manutencoes_present=r.manutencoes_present,
            manutencoes_stale=r.manutencoes_stale,
            quarantined=0,
            released=r.released,
            duplicates=0,
        )
        record_batch(self.conn, entry)

    # -- outcomes

    def _release(self, row: HeldRow) -> None:
        mark_released(self.conn, [row.id], self.batch_id, self.now)
        self.result.examined += 1
        self.result.released += 1

    def _keep(self, row: HeldRow, problem: Problem | None, placa: str | None = None) -> None:
        self.result.examined += 1
        self.result.still_held += 1
        if problem is None:
            self.result.not_retryable += 1
            self.held[row.reason] = self.held.get(row.reason, 0) + 1
            return
        self.held[problem.reason] = self.held.get(problem.reason, 0) + 1
        if (problem.reason, problem.column, problem.detail) != (
            row.reason,
            row.column_name,
            row.detail,
        ):
            self.conn.execute(
                quarantine.update()
                .where(quarantine.c.id == row.id)
                .values(
                    reason=problem.reason,
                    column_name=problem.column,
                    detail=problem.detail,
                    placa=placa or row.placa,
                )
            )
            self.result.reason_changed += 1

    def _row(self, qid: int) -> HeldRow:
        return held_row(
            self.conn.execute(sa.select(quarantine).where(quarantine.c.id == qid)).one()
        )

    # -- tables

    def _passing(self, where: list[Any], table: Table) -> Iterator[tuple[HeldRow, dict[str, Any]]]:
        """Matching held rows of `table` that pass parse_row now; the others stay held."""
        for row in pages(self.conn, [*where, quarantine.c.table_name == table.name]):
            if row.values is None:
                self._keep(row, None)
                continue
            parsed, problem = parse_row(table, row.values, self.today)
            if problem or parsed is None:
                self._keep(row, problem)
                continue
            yield row, parsed

    def _vehicles(self, where: list[Any]) -> set[str]:
        """Apply the vehicles that now pass, by the loader's rule; the plates it inserted."""
        good: dict[str, list[tuple[HeldRow, dict[str, Any]]]] = {}
        for row, parsed in self._passing(where, VEICULOS):
            good.setdefault(parsed["placa"], []).append((row, parsed))
        new_placas: set[str] = set()

        def applied(copies: list[HeldRow], parsed: dict[str, Any], change: Change) -> None:
            for row in copies:  # identical copies share the outcome
                if isinstance(change, Problem):
                    self._keep(row, change, parsed["placa"])
                else:
                    self._release(row)
            if change == "insert":
                new_placas.add(parsed["placa"])

        upsert = VehicleUpsert(self.conn, self.batch_id, self.version, applied)
        for placa, candidates in good.items():
            if len({json.dumps(p, default=str, sort_keys=True) for _, p in candidates}) > 1:
                conflict = Problem(
                    "conflicting_duplicate",
                    "placa",
                    f"{placa}: {len(candidates)} different rows; retry one of them by --id",
                )
                for row, _ in candidates:
                    self._keep(row, conflict, placa)
                continue
            first, parsed = candidates[0]
            # The loader's rule, judged by the row's original batch (when its data is from).
            original = batch_version(self.conn, first.batch_id)
            upsert.add(parsed, [row for row, _ in candidates], original)
        upsert.flush()
        self.result.veiculos_inserted += upsert.inserted
        self.result.veiculos_updated += upsert.updated
        self.result.veiculos_stale += upsert.stale
        return new_placas

    def _maintenances(self, where: list[Any]) -> None:
        for row, parsed in self._passing(where, MANUTENCOES):
            placa = parsed["placa_veiculo"]
            known = self.conn.execute(
                sa.select(veiculos.c.placa).where(
                    veiculos.c.placa == placa, veiculos.c.retirado_lote.is_(None)
                )
            ).first()
            if known is None:
                self._keep(row, unknown_vehicle(parsed), placa)
                continue
            if parsed.get(ORIGIN):  # the same work order of the same source: that record
                key = work_order_key(self._source(row.batch_id), parsed[ORIGIN])
            else:  # a person released it: a record of its own
                key = free_occurrence_key(self.conn, parsed)
            # Newer wins, judged by the row's original batch (load/stage.py), as for vehicles.
            original = batch_version(self.conn, row.batch_id)
            outcome = apply_record(
                self.conn,
                parsed,
                key,
                self.batch_id,
                self.now,
                original,
                self.written,
                origin=row.batch_id,
            )
            note_written(self.written, key, original)
            if outcome == "inserted":
                self.result.manutencoes_inserted += 1
            elif outcome == "updated":
                self.result.manutencoes_updated += 1
            elif outcome == "stale":
                self.result.manutencoes_stale += 1
            else:
                self.result.manutencoes_present += 1
            self._release(row)

    def _source(self, batch_id: str) -> str:
        """The source of the batch a held row came from."""
        return str(
            self.conn.execute(
                sa.select(batches.c.source).where(batches.c.batch_id == batch_id)
            ).scalar()
            or ""
        )
