"""A batch's maintenances go to a stage first, then to the records they are (DESIGN §5b).

The stage is a temporary table of this connection, written by the dialect's bulk writer
(frota.load.bulk): the contract's cells, each row's key (frota.contract.identity) and its line.
On the optimistic path (`direct`) the writer writes straight to manutencoes, chunk by chunk,
until a chunk meets a stored key; from then on (MySQL) it reads each chunk's stored records
(frota.load.bulk.base): new rows still go straight in (ids above `last`: the batch's own)
while they can, a row the stored record equals is staged as its line and key alone
(`PRESENT`), and the rest goes to the stage whole. A fresh export is never staged, a re-sent
one on MySQL mostly as narrow rows (PostgreSQL, SQLite: every row from the first chunk that
met a key is staged whole). `apply` then settles the stage
set by set, in the batch transaction:

1. rows whose occurrence in the batch the Bloom filter could not settle get their key (the
   first occurrence may be a direct row);
2. a work-order number repeated in the batch (in the stage, or in the stage and among the
   direct rows; a PRESENT copy is the stored record): identical copies count once (the others
   are duplicates), different contents are all quarantined (`conflicting_id_origem`). A
   direct copy of such a work order would have to leave manutencoes, and the loader may not
   DELETE: `Restage` is raised, and the batch is loaded again, through the stage alone
   (load/transaction.py);
3. a stored record the batch changes (its work-order number came with other values, or it was
   retired) is updated, with a row in frota_manutencoes_historico — unless a batch newer than
   this one (frota.db.history.Version: as_of, then the publish order) wrote its current state:
   then the record stays, and this batch's older version goes to the history as 'stale';
4. the rest is inserted where the key is absent; what is left (with the PRESENT rows) was
   already present, unchanged.

A temporary table is not DDL on the schema: no lock, no implicit commit (MySQL), and the
least-privilege loader may create one (docs/operations.md).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.dialects.mysql
import sqlalchemy.dialects.postgresql
import sqlalchemy.dialects.sqlite
from sqlalchemy.engine import Connection

from frota.contract import MANUTENCOES, REPLAY_SOURCE, UNDO_SOURCE
from frota.contract.canonical import format_value
from frota.contract.identity import (
    KEY_LENGTH,
    ORIGIN,
    ORIGIN_PREFIX,
    business_cells,
    fingerprint,
    fingerprint_key,
)
from frota.contract.tabular import Record
from frota.contract.validate import Problem
from frota.db.history import Version
from frota.db.schema import _sa_type, batches, maintenance_history, manutencoes
from frota.errors import BadInputError
from frota.i18n import _
from frota.load.bulk import maintenance_writer
from frota.load.bulk.base import PRESENT, STAGE
from frota.load.writer import MaintenanceWriter

OK, DUPLICATE, CONFLICT = 0, 1, 2  # stage.estado (and PRESENT: line and key only)
_PAGE = 1000
_DIRECT_PAGE = 20_000  # direct rows read back a query at a time
CONTRACT = MANUTENCOES.csv_header


@functools.cache
def _stage_table(collation: str | None) -> sa.Table:
    """The stage's definition (MySQL: in manutencoes' collation, so that keys compare)."""
    mysql: dict[str, Any] = {"mysql_charset": "utf8mb4"}
    if collation:
        mysql["mysql_collate"] = collation
    return sa.Table(
        STAGE,
        sa.MetaData(),
        sa.Column("linha", sa.Integer(), primary_key=True, autoincrement=False),
        *(sa.Column(c.name, _sa_type(c)) for c in MANUTENCOES.csv_columns),
        sa.Column("chave", sa.String(KEY_LENGTH)),
        sa.Column("estado", sa.Integer(), nullable=False, server_default="0"),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
        **mysql,
    )


stage = _stage_table(None)  # its columns, for queries (the same on every dialect)


def _create(conn: Connection) -> None:
    collation = None
    if conn.dialect.name == "mysql":
        collation = conn.execute(
            sa.text(
                "SELECT TABLE_COLLATION FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'manutencoes'"
            )
        ).scalar()
    _stage_table(collation).create(conn)


class Restage(Exception):  # noqa: N818 (not an error: a request, caught by load_batch)
    """A work order repeated with different values has a copy among the direct rows: load the
    batch again without the direct path."""


@dataclass
class Applied:
    """What a stage did to the stored records (rows in the stage = the sum of all six)."""

    inserted: int = 0
    updated: int = 0
    present: int = 0
    stale: int = 0  # a newer batch wrote the record: this version went to the history
    duplicates: int = 0
    conflicts: list[tuple[Record, Problem, str]] = field(default_factory=list)


class Stage:
    """The stage of one batch: `writer` takes the rows, `apply` settles them. A context manager
    (the temporary table is dropped on exit; on PostgreSQL, at the end of the transaction)."""

    def __init__(
        self,
        conn: Connection,
        batch_id: str,
        on_flush: Callable[[], None] | None = None,
        version: Version | None = None,
        direct: bool = False,
        written: Mapping[str, Version] | None = None,
        origin: str | None = None,
    ) -> None:
        # version: of the batch's data, for "newer wins" (None: every change applies);
        # written: keys this batch wrote already for other batches' data (written_by_newer);
        # origin: the batch whose export held the rows, when not batch_id (a release)
        self.conn, self.batch_id, self.version = conn, batch_id, version
        self.written, self.origin = written, (origin if origin != batch_id else None)
        self.suspects: list[tuple[int, str]] = []  # (line, fingerprint): occurrence unknown
        _drop(conn)
        _create(conn)
        # One loader at a time, inside its transaction: the rows it writes have ids above this.
        self.last: int = conn.execute(sa.select(sa.func.max(manutencoes.c.id))).scalar() or 0
        self.writer: MaintenanceWriter = maintenance_writer(
            conn, batch_id, on_flush, direct, last=self.last
        )

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:  # else the rollback drops it (MySQL: the next stage does)
            _drop(self.conn)

    def suspect(self, line: int, print_: str) -> None:
        """A row without a work-order number that may repeat an earlier row of the batch."""
        self.suspects.append((line, print_))

    def apply(self, now: datetime) -> Applied:
        """Settle the staged rows into manutencoes (the writer must be closed)."""
        self._settle_suspects()
        result = Applied()
        self._resolve_repeated_origins(result)
        result.updated, result.stale = self._apply_changes(now)
        inserted = self._insert_new()
        result.inserted = inserted + self.writer.direct_rows
        staged = self.conn.execute(sa.select(sa.func.count()).select_from(stage)).scalar() or 0
        kept = inserted + result.updated + result.stale + result.duplicates
        result.present = staged - kept - len(result.conflicts)
        return result

    def retire_absent(
        self,
        source: str,
        period: tuple[date, date],
        now: datetime,
        *,
        protected: set[str],
        max_share: float,
        allow: bool,
    ) -> int:
        """A snapshot: retire the stored records of `source` in `period` (service dates,
        inclusive) that are not in this batch, each with a history row; returns how many.

        A record's source is its first batch's: the one whose export held it (lote_origem,
        for a released row), else the one that stored it. `protected`: keys of the batch's
        rows held in the quarantine (they are in the export); a record a newer batch wrote is
        not retired. BadInputError, before anything is retired, when that would be more than
        `max_share` of the period's records, unless `allow`."""
        m, b = manutencoes, batches
        start, end = period
        of_period = (
            b.c.source == source,
            m.c.data_manutencao.between(start, end),
            m.c.retirada_lote.is_(None),
        )
        # a released record's source is the batch its row came in (lote_origem)
        joined = m.join(b, b.c.batch_id == sa.func.coalesce(m.c.lote_origem, m.c.lote_id))
        stored = self.conn.execute(
            sa.select(sa.func.count())
            .select_from(joined)
            .where(*of_period, m.c.lote_id != self.batch_id)
        ).scalar()
        staged = sa.select(sa.literal(1)).where(stage.c.chave == m.c.chave).exists()
        found = self.conn.execute(
            sa.select(m.c.id, m.c.chave, _data_batch(), *(m.c[c] for c in CONTRACT))
            .select_from(joined)
            .where(*of_period, ~staged, m.c.id <= self.last)  # above: this batch's direct rows
            .order_by(m.c.id)
        ).all()
        newer = self._written_by_newer(found)  # a late snapshot: their newer state stays
        absent = [r for r in found if r.chave not in protected and r.chave not in newer]
        if absent and stored and len(absent) > max_share * stored and not allow:
            raise _too_many_retired(self.batch_id, source, period, len(absent), stored, max_share)
        for start_at in range(0, len(absent), _PAGE):
            self._retire(absent[start_at : start_at + _PAGE], now)
        return len(absent)

    def _retire(self, page: Sequence[Any], now: datetime) -> None:
        """Retire these records (soft delete), each with its 'retire' history row."""
        m = manutencoes
        self.conn.execute(
            m.update()
            .where(m.c.id.in_([r.id for r in page]))
            .values(retirada_lote=self.batch_id, retirada_em=now)
        )
        self.conn.execute(
            maintenance_history.insert(),
            [
                {
                    "chave": r.chave,
                    "lote_id": self.batch_id,
                    "mudanca": "retire",
                    "registrado_em": now,
                    **{c: getattr(r, c) for c in CONTRACT},
                    **before_image({c: getattr(r, c) for c in CONTRACT}, None, None),
                }
                for r in page
            ],
        )

    def _settle_suspects(self) -> None:
        """k of a suspect = its rank among the batch's rows with its fingerprint; the first
        occurrence, if certainly new, is staged with k = 1 (load/dedupe.py)."""
        if not self.suspects:
            return
        by_print: dict[str, list[int]] = defaultdict(list)
        for line, print_ in self.suspects:
            by_print[print_].append(line)
        firsts = [fingerprint_key(p, 1) for p in by_print]
        staged_first: set[str] = set()
        m = manutencoes
        for start in range(0, len(firsts), _PAGE):
            page = firsts[start : start + _PAGE]
            staged_first.update(
                self.conn.execute(sa.select(stage.c.chave).where(stage.c.chave.in_(page))).scalars()
            )
            if self.writer.direct_rows:  # the first occurrence may have been written directly
                staged_first.update(
                    self.conn.execute(
                        sa.select(m.c.chave).where(m.c.chave.in_(page), m.c.id > self.last)
                    ).scalars()
                )
        keys = []
        for print_, lines in by_print.items():
            base = 1 if fingerprint_key(print_, 1) in staged_first else 0
            for rank, line in enumerate(sorted(lines), start=base + 1):
                keys.append({"s_linha": line, "key": fingerprint_key(print_, rank)})
        update = (
            stage.update()
            .where(stage.c.linha == sa.bindparam("s_linha"))
            .values(chave=sa.bindparam("key"))
        )
        for start in range(0, len(keys), _PAGE):
            self.conn.execute(update, keys[start : start + _PAGE])
        self.suspects = []

    def _repeated_origins(self) -> list[str]:
        """Work-order keys the batch holds more than once: in the stage, or in the stage and
        among the direct rows (no key is twice among those: the UNIQUE index saw to it).

        Only candidates are looked up: the keys the writer's filter saw staged twice (every
        key staged twice is among them), and the direct rows' keys the stage may hold. Grouping
        or joining the whole stage cost a re-sent export (90 % stored) a fifth of its load on
        MariaDB (docs/benchmarks.md)."""
        writer = self.writer
        if writer.count == writer.direct_rows:
            return []  # nothing staged
        repeated: set[str] = set()
        candidates = sorted(set(writer.repeats))
        for start in range(0, len(candidates), _PAGE):
            repeated.update(
                self.conn.execute(
                    sa.select(stage.c.chave)
                    .where(stage.c.chave.in_(candidates[start : start + _PAGE]))
                    .group_by(stage.c.chave)
                    .having(sa.func.count() > 1)
                ).scalars()
            )
        for page in self._direct_keys_maybe_staged():
            repeated.update(
                self.conn.execute(
                    sa.select(stage.c.chave).distinct().where(stage.c.chave.in_(page))
                ).scalars()
            )
        return sorted(repeated)

    def _direct_keys_maybe_staged(self) -> Iterator[list[str]]:
        """Pages of the direct rows' work-order keys that the stage may also hold."""
        m, writer, after = manutencoes, self.writer, self.last
        while writer.direct_rows:
            rows = self.conn.execute(
                sa.select(m.c.id, m.c.chave)
                .where(m.c.id > after)
                .order_by(m.c.id)
                .limit(_DIRECT_PAGE)
            ).all()
            if not rows:
                return
            after = rows[-1].id
            page = [r.chave for r in rows if r.chave[:1] == ORIGIN_PREFIX]
            maybe = [k for k in page if writer.maybe_staged(k)]
            if maybe:
                yield maybe

    def _stored_copies(self, keys: list[str], direct: bool) -> dict[str, _Copy]:
        """The batch's direct rows with these keys (`direct`), or the stored records a PRESENT
        row equals, as copies of the work order."""
        m = manutencoes
        if direct and not self.writer.direct_rows:
            return {}
        rows = self.conn.execute(
            sa.select(m.c.chave, *(m.c[c] for c in CONTRACT)).where(
                m.c.chave.in_(keys), m.c.id > self.last if direct else m.c.id <= self.last
            )
        ).all()
        return {r.chave: _Copy(r._mapping) for r in rows}

    def _resolve_repeated_origins(self, result: Applied) -> None:
        """Settle the work orders the batch repeats (Restage: one conflicts with a direct
        row, which would have to leave manutencoes)."""
        repeated = self._repeated_origins()
        for start in range(0, len(repeated), _PAGE):
            keys = repeated[start : start + _PAGE]
            rows = self.conn.execute(sa.select(stage).where(stage.c.chave.in_(keys))).all()
            groups: dict[str, list[Any]] = defaultdict(list)
            narrow = [r for r in rows if r.estado == PRESENT]
            stored = self._stored_copies(keys, direct=False) if narrow else {}
            present = [stored[r.chave].at(r.linha) for r in narrow]
            copies: list[Any] = [*(r for r in rows if r.estado != PRESENT), *present]
            copies += self._stored_copies(keys, direct=True).values()
            for row in sorted(copies, key=lambda r: (r.chave, r.linha)):
                groups[row.chave].append(row)
            marks: list[dict[str, int]] = []
            for group in groups.values():
                images = {tuple(_cell(r, c) for c in CONTRACT) for r in group}
                if len(images) == 1:  # the first copy is the record (a direct one comes first)
                    marks += [{"s_linha": r.linha, "mark": DUPLICATE} for r in group[1:]]
                    result.duplicates += len(group) - 1
                    continue
                if any(isinstance(r, _Copy) and r.linha == 0 for r in group):
                    raise Restage(group[0].chave)
                lines = ", ".join(str(r.linha) for r in group)
                for r in group:
                    marks.append({"s_linha": r.linha, "mark": CONFLICT})
                    problem = Problem(
                        "conflicting_id_origem",
                        ORIGIN,
                        f"work order {r.id_origem} is on lines {lines} of this batch "
                        "with different values",
                    )
                    result.conflicts.append((_record(r), problem, r.placa_veiculo))
            self._mark(marks)

    def _mark(self, marks: list[dict[str, int]]) -> None:
        if marks:
            self.conn.execute(
                stage.update()
                .where(stage.c.linha == sa.bindparam("s_linha"))
                .values(estado=sa.bindparam("mark")),
                marks,
            )

    def _apply_changes(self, now: datetime) -> tuple[int, int]:
        """Stored records this batch changes or restores: updated in place (their id and
        lote_id stay), each with a history row; those a newer batch wrote stay as they are,
        this batch's image in the history as 'stale'. Returns (updated, stale)."""
        m = manutencoes
        differs = [m.c[c].is_distinct_from(stage.c[c]) for c in CONTRACT]
        found = self.conn.execute(
            sa.select(
                m.c.id,
                m.c.retirada_lote,
                m.c.retirada_em,
                _data_batch(),
                *(m.c[c].label(f"antes_{c}") for c in CONTRACT),
                stage,
            )
            .select_from(stage.join(m, m.c.chave == stage.c.chave))
            .where(stage.c.estado == OK, sa.or_(m.c.retirada_lote.is_not(None), *differs))
            .order_by(m.c.id)
        ).all()
        newer = self._written_by_newer(found)
        update = (
            m.update()
            .where(m.c.id == sa.bindparam("m_id"))
            .values(
                retirada_lote=None,
                retirada_em=None,
                **{c: sa.bindparam(f"v_{c}") for c in CONTRACT},
            )
        )
        for start in range(0, len(found), _PAGE):
            page = found[start : start + _PAGE]
            changes = [r for r in page if r.chave not in newer]
            if changes:
                self.conn.execute(
                    update,
                    [
                        {"m_id": r.id, **{f"v_{c}": getattr(r, c) for c in CONTRACT}}
                        for r in changes
                    ],
                )
            self.conn.execute(
                maintenance_history.insert(),
                [
                    {
                        "chave": r.chave,
                        "lote_id": self.batch_id,
                        "mudanca": _change_kind(r, newer),
                        "registrado_em": now,
                        **{c: getattr(r, c) for c in CONTRACT},
                        **before_image(
                            {c: getattr(r, f"antes_{c}") for c in CONTRACT},
                            r.retirada_lote,
                            r.retirada_em,
                        ),
                    }
                    for r in page
                ],
            )
        stale = sum(1 for r in found if r.chave in newer)
        return len(found) - stale, stale

    def _written_by_newer(self, found: Sequence[Any]) -> set[str]:
        return written_by_newer(self.conn, self.batch_id, self.version, found, self.written)

    def _insert_new(self) -> int:
        """Insert the staged rows whose key is not stored yet; returns how many."""
        m = manutencoes
        source = sa.select(
            *(stage.c[c] for c in CONTRACT),
            stage.c.chave,
            sa.literal(self.batch_id),
            *([sa.literal(self.origin)] if self.origin else []),
        ).where(stage.c.estado == OK)
        if self.conn.dialect.name == "mysql":
            # InnoDB writes a row to the clustered index before its UNIQUE key refuses it, then
            # undoes it: a re-sent export (90 % stored) paid that for every stored row. Only
            # the absent keys are selected (MySQL holds the selected rows in a temporary table:
            # the new ones, not manutencoes).
            stored = sa.select(m.c.id).where(m.c.chave == stage.c.chave)
            source = source.where(~stored.exists())
        # Elsewhere keys already stored (present, or just updated) are skipped by the UNIQUE
        # index itself: one probe a row. Counted by id, not rowcount (MySQL counts a skipped
        # row, and SQLAlchemy reports -1 for INSERT … SELECT on psycopg); one loader at a
        # time, inside its transaction: the new ids are all above `last`.
        last = self.conn.execute(sa.select(sa.func.max(m.c.id))).scalar() or 0
        rows = source.order_by(stage.c.linha)
        self.conn.execute(_insert_absent(self.conn.dialect.name, rows, bool(self.origin)))
        return int(
            self.conn.execute(
                sa.select(sa.func.count()).select_from(m).where(m.c.id > last)
            ).scalar()
            or 0
        )


def _insert_absent(dialect: str, rows: sa.Select, origin: bool) -> sa.Executable:
    """INSERT INTO manutencoes … SELECT `rows`, skipping a key that is stored already
    (`origin`: the rows end with lote_origem)."""
    columns = [*CONTRACT, "chave", "lote_id", *(["lote_origem"] if origin else [])]
    if dialect == "mysql":
        mysql_insert = sa.dialects.mysql.insert(manutencoes).from_select(columns, rows)
        return mysql_insert.on_duplicate_key_update(chave=mysql_insert.inserted.chave)
    module = sa.dialects.postgresql if dialect == "postgresql" else sa.dialects.sqlite
    insert = module.insert(manutencoes).from_select(columns, rows)
    return insert.on_conflict_do_nothing(index_elements=["chave"])


class _Copy:
    """A work order's copy that is a stored row, as the repeated-work-order check reads a
    staged one: a direct row (line 0: before every staged line, as direct rows come first)
    or, `at` the line of a PRESENT row, the stored record that row equals."""

    linha = 0

    def __init__(self, values: Mapping[Any, Any]) -> None:
        self.__dict__.update({c: values[c] for c in ("chave", *CONTRACT)})

    def at(self, linha: int) -> _Copy:
        copy = _Copy(self.__dict__)
        copy.linha = linha
        return copy


def _drop(conn: Connection) -> None:
    if conn.dialect.name == "mysql":  # TEMPORARY: DROP TABLE alone would commit
        conn.exec_driver_sql(f"DROP TEMPORARY TABLE IF EXISTS {STAGE}")
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGE}")
    else:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")


def _change_kind(row: Any, newer: set[str]) -> str:
    """The history's name for what this batch did to a stored record (frota.db.schema)."""
    if row.chave in newer:
        return "stale"
    return "restore" if row.retirada_lote is not None else "update"


def _cell(row: Any, column: str) -> str:
    return format_value(getattr(row, column))


def _record(row: Any) -> Record:
    """A staged row as a quarantine record (its canonical text: the stage keeps no raw)."""
    values = {c: _cell(row, c) for c in CONTRACT}
    return Record(line=row.linha, values=values, raw=",".join(values.values()))


def _data_batch() -> sa.Label[Any]:
    """As `m_lote`: the batch a stored record's data came in, the one whose export held it
    for a released record (lote_origem), else the one that stored it; "newer wins" judges
    the record by that batch's version."""
    m = manutencoes
    return sa.func.coalesce(m.c.lote_origem, m.c.lote_id).label("m_lote")


def written_by_newer(
    conn: Connection,
    batch_id: str,
    version: Version | None,
    found: Sequence[Any],
    written: Mapping[str, Version] | None = None,
) -> set[str]:
    """Keys of `found` (rows with chave and m_lote) whose stored state a batch newer than
    `version` (of the data `batch_id` writes) wrote: inserted it, or changed it (a 'stale'
    image changed nothing). Empty without a version: every change applies.

    `batch_id`'s own writes are not judged here: `written` has the version of those it made
    for another batch's data (held rows it released), the rest are its own version."""
    if version is None or not found:
        return set()
    written = written or {}
    by_release = {r.chave for r in found if r.chave in written and written[r.chave] > version}
    b = batches.c
    candidates = conn.execute(
        sa.select(b.batch_id, b.as_of, b.ordem).where(
            b.as_of >= version.vigente_desde,
            b.batch_id != batch_id,
            # an undone batch wrote nothing; an undo or a replay only puts states back
            b.desfeito_lote.is_(None),
            b.source.not_in([UNDO_SOURCE, REPLAY_SOURCE]),
        )
    ).all()
    # Compared in Python, as the vehicles' versions are (a collation could sort ordem
    # differently); the ledger rows not older than this batch's as_of are few.
    newer = [r.batch_id for r in candidates if Version(r.as_of, r.ordem or "") > version]
    if not newer:
        return by_release
    inserted_by_newer = set(newer)
    keys = by_release | {r.chave for r in found if r.m_lote in inserted_by_newer}
    h = maintenance_history.c
    rest = [r.chave for r in found if r.chave not in keys]
    for at in range(0, len(newer), _PAGE):
        for start in range(0, len(rest), _PAGE):
            keys.update(
                conn.execute(
                    sa.select(h.chave).where(
                        h.lote_id.in_(newer[at : at + _PAGE]),
                        h.chave.in_(rest[start : start + _PAGE]),
                        h.mudanca != "stale",
                        h.desfeito_lote.is_(None),
                    )
                ).scalars()
            )
    return keys


def apply_record(
    conn: Connection,
    row: dict[str, Any],
    key: str,
    batch_id: str,
    now: datetime,
    version: Version | None = None,
    written: Mapping[str, Version] | None = None,
    origin: str | None = None,
) -> str:
    """One record, by key: 'inserted' (as a row of `batch_id`; `origin`: the batch whose
    export held it, when not `batch_id`), 'updated' (changed or
    restored, with its history row), 'present' (stored unchanged) or 'stale' (a batch newer
    than `version`, the row's data, wrote it: its image goes to the history as 'stale';
    `written` as for written_by_newer). For a few rows at a time (a quarantine retry); a batch goes
    through a Stage."""
    m = manutencoes
    stored = conn.execute(
        sa.select(
            m.c.id,
            m.c.chave,
            _data_batch(),
            m.c.retirada_lote,
            m.c.retirada_em,
            *(m.c[c] for c in CONTRACT),
        ).where(m.c.chave == key)
    ).first()
    values = {c: row.get(c) for c in CONTRACT}
    if stored is None:
        origin_of = {"lote_origem": origin} if origin and origin != batch_id else {}
        conn.execute(m.insert(), [{**values, "chave": key, "lote_id": batch_id, **origin_of}])
        return "inserted"
    same = all(format_value(getattr(stored, c)) == format_value(values[c]) for c in CONTRACT)
    if same and stored.retirada_lote is None:
        return "present"
    stale = bool(written_by_newer(conn, batch_id, version, [stored], written))
    if not stale:
        m_values = {"retirada_lote": None, "retirada_em": None, **values}
        conn.execute(m.update().where(m.c.id == stored.id).values(**m_values))
    before = before_image(
        {c: getattr(stored, c) for c in CONTRACT}, stored.retirada_lote, stored.retirada_em
    )
    change = "stale" if stale else "update" if stored.retirada_lote is None else "restore"
    conn.execute(
        maintenance_history.insert(),
        [
            {
                "chave": key,
                "lote_id": batch_id,
                "mudanca": change,
                "registrado_em": now,
                **values,
                **before,
            }
        ],
    )
    return "stale" if stale else "updated"


def before_image(
    values: dict[str, Any], retirada_lote: str | None, retirada_em: datetime | None
) -> dict[str, Any]:
    """A history row's record as it was before the change (what `frota batch undo` puts
    back): its contract columns and its retirement."""
    return {
        **{f"antes_{c}": values[c] for c in CONTRACT},
        "antes_retirada_lote": retirada_lote,
        "antes_retirada_em": retirada_em,
        "com_antes": 1,
    }


def free_occurrence_key(conn: Connection, row: dict[str, Any]) -> str:
    """The fingerprint key of `row` with the smallest k not stored yet (a row a person
    released from the quarantine is a record of its own)."""
    print_ = fingerprint(business_cells(row))
    k = 1
    while conn.execute(
        sa.select(manutencoes.c.id).where(manutencoes.c.chave == fingerprint_key(print_, k))
    ).first():
        k += 1
    return fingerprint_key(print_, k)


def _too_many_retired(
    batch_id: str,
    source: str,
    period: tuple[date, date],
    n: int,
    stored: int,
    max_share: float,
) -> BadInputError:
    """The refusal of a snapshot that would retire more than `max_share` of its period."""
    start, end = period
    return BadInputError(
        _(
            "this snapshot would retire {n} of the {stored} stored maintenances of "
            "{source} from {start} to {end} ({share:.0%}, above the limit of {limit:.0%})"
        ).format(
            n=n,
            stored=stored,
            source=source,
            start=start.isoformat(),
            end=end.isoformat(),
            share=n / stored,
            limit=max_share,
        ),
        file=f"{batch_id}/{MANUTENCOES.file_name}",
        hint=_(
            "is the export complete for its period? If the records really are gone, "
            "publish it again with --allow-retire (or raise snapshot_max_retire_share)"
        ),
    )
