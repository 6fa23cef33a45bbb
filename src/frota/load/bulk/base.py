"""What every bulk writer shares: rows buffered into chunks, one chunk in flight on a background
thread while the main thread parses the next, and the text format COPY and LOAD DATA read.

A writer appends to the batch's stage (a temporary table, frota.load.stage) or, while it is
`direct` (the loader's optimistic path, docs/benchmarks.md), straight to `manutencoes`: each
chunk in a savepoint, so that a chunk meeting a key already stored (a record the batch re-sends
or changes, or a work order repeated in the batch) is undone.

From that chunk on, a writer that can (`stored_sql`: MySQL) *probes*: it reads the stored
records of the chunk's keys, rendered by the server as the writer holds a row, and compares
them with the rows. A re-sent export mostly keeps the order its records were stored in, so the
stored rows after the last record the previous chunk found are read first as one range of ids;
the keys not found there are looked up by key (`_stored`). A row whose key is not stored is
new: written straight in, as before (in a savepoint; once that fails, or a row's occurrence is
unsettled, new rows go to the stage, so that ids keep the file's order); a row the stored
record equals is *present*: only its line and key go to the stage (`PRESENT`), for the stage's
counts, repeated work orders and snapshots; the rest (changed, retired, repeated) goes to the
stage whole, to be settled set by set. A re-sent record thus costs a share of a range read and
a narrow row, not a full write and two joins. On InnoDB those joins are an index lookup a row
(MariaDB's hash join was far slower); PostgreSQL joins the stage by hashing and SQLite runs in
the process, so both stage every row from the first failed chunk on: probing measured slower
there (docs/benchmarks.md).

Every staged work-order key is noted in a Bloom filter (`repeats`, `maybe_staged`), so that the
stage looks for a work order the batch repeats among a few candidates instead of grouping and
joining every staged row.

Everything runs on the batch transaction's own connection: no statement here commits, so
data, quarantine and ledger still commit together. `wait()` must run before anything else uses
the connection (a chunk may be in flight).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from frota.contract import MANUTENCOES
from frota.contract.canonical import NEEDS_ESCAPE, format_value
from frota.contract.identity import ORIGIN_PREFIX
from frota.load.dedupe import RowFilter

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

# The batch's stage (frota.load.stage): the contract's cells, the record's key (NULL while its
# occurrence in the batch is unsettled) and the row's line in the file.
STAGE = "frota_stage"
KEYED = (*MANUTENCOES.csv_header, "chave")  # a row as a writer holds it: cells, then its key
COLUMNS = (*KEYED, "linha")  # the stage's
DIRECT = (*KEYED, "lote_id")  # manutencoes' (the direct path)
REQUIRED = (*(c.name for c in MANUTENCOES.csv_columns if c.required), "linha")
OPTIONAL = tuple(c for c in COLUMNS if c not in REQUIRED)  # '' means NULL
CHUNK_ROWS = 50_000  # rows per statement/COPY/file: a few MB in flight, two chunks at most
WRITER_SWITCH_INTERVAL = 0.0005  # seconds: how long the writer thread may wait for the GIL
SAVEPOINT = "frota_chunk"  # a direct chunk's, undone when it meets a stored key
# The filter of staged work-order keys (8 MiB, taken at the first staged row): at 5,000,000
# staged rows, about 13 bits a key, so few false candidates (each costs the stage a lookup).
STAGED_FILTER_BITS_LOG2 = 26
PRESENT = 3  # stage.estado of a row the stored record equals (its line and key only)
PROBE_PAGE = 5_000  # keys per lookup


def escape_text(value: Any) -> str:
    """One value in PostgreSQL COPY / MySQL LOAD DATA text format (both read these escapes);
    an empty field is NULL (the statements say so: a contract value is never empty text)."""
    if value is None:
        return ""
    text = format_value(value)
    if NEEDS_ESCAPE.search(text):
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


class ChunkedWriter:
    """Appends maintenance rows in chunks, one chunk in flight on a background thread.

    A row is held as its `KEYED` cells (`add`, `add_canonical`) with its line kept beside it;
    subclasses say how (`_body`, `add_canonical`, `_key`), how a chunk is written to the stage
    (`_write_stage`) and, in a savepoint, to manutencoes (`_write_direct`: False when the chunk
    met a stored key and was undone), and how the server renders a stored row as they hold
    one (`stored_sql`, for probing; None: never probe). Together they are a
    `frota.load.writer.MaintenanceWriter`.
    """

    chunk_rows = CHUNK_ROWS

    threaded = True  # the server inserts one chunk while Python parses the next
    stored_sql: str | None = None  # a manutencoes row as this writer's text (None: no probing)

    def __init__(
        self,
        conn: Connection,
        lote_id: str,
        chunk_rows: int | None = None,
        on_flush: Callable[[], None] | None = None,
        direct: bool = False,
        last: int = 0,
    ) -> None:
        self.conn, self.lote_id, self.on_flush = conn, lote_id, on_flush
        self.chunk_rows = chunk_rows or min(CHUNK_ROWS, type(self).chunk_rows)
        self.dbapi: Any = conn.connection.dbapi_connection
        self.buffer: list[Any] = []
        self.lines = array("q")  # the file line of each buffered row
        self.count = 0
        self.direct = direct  # new rows go straight to manutencoes
        self.probing = False  # rows are looked up first (see the module's docstring)
        self.can_probe = direct and self.stored_sql is not None
        self.last = last  # manutencoes ids above this are the batch's own
        self._next_id: int | None = None  # probing: where the next range of stored rows starts
        self._ranges = True  # probing: ranges still find most keys (see _stored)
        self.direct_rows = 0  # rows written straight to manutencoes
        # Work-order keys staged more than once, with the filter's few false positives: the
        # stage checks these for repeats instead of grouping every staged row (stage.py).
        self.repeats: list[str] = []
        self._staged = RowFilter(STAGED_FILTER_BITS_LOG2)
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: Future[None] | None = None

    def add(self, row: dict[str, Any]) -> None:
        """A typed row from parse_row, with its `chave` (None: its occurrence is unsettled,
        so no new row after it goes straight in) and `linha`."""
        if row.get("chave") is None and self.direct:
            self.flush()
            self.wait()  # the chunk in flight may start probing too
            self.direct = False
            self._start_probing()
        self.buffer.append(self._body(row))
        self.lines.append(row["linha"])
        if len(self.buffer) >= self.chunk_rows:
            self.flush()

    def add_canonical(self, cells: tuple[str, ...], line: int) -> None:
        """A row FastMaintenances validated: canonical text cells, '' for NULL, then its key;
        and its line number."""
        raise NotImplementedError

    def _body(self, row: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _key(self, body: Any) -> str:
        """The key of a held row ('' while its occurrence is unsettled)."""
        raise NotImplementedError

    def _write_stage(self, chunk: list[Any], lines: array[int]) -> None:
        raise NotImplementedError

    def _write_direct(self, chunk: list[Any]) -> bool:
        raise NotImplementedError

    def _write(self, chunk: list[Any], lines: array[int], direct: bool, probing: bool) -> None:
        if direct and not probing:
            if self._write_direct(chunk):
                self._note_direct(lines)
                return
            # This chunk met a stored key: from here on, probe (or stage everything).
            probing = self._start_probing()
            if not probing:
                self.direct = direct = False
        if probing:
            self._probe(chunk, lines, direct)
        else:
            self._note_staged([self._key(body) for body in chunk])
            self._write_stage(chunk, lines)

    def _start_probing(self) -> bool:
        if self.can_probe and not self.probing:
            self.probing = True
            self._prepare_probing()
        return self.probing

    def _prepare_probing(self) -> None:
        """Set the connection up for `_fetch_stored` (a writer that probes says how)."""

    def _probe(self, chunk: list[Any], lines: array[int], direct: bool) -> None:
        """Write a chunk by what is stored: new rows straight in (while `direct`), rows the
        stored record equals as PRESENT, the rest whole to the stage."""
        keys = [self._key(body) for body in chunk]
        stored = self._stored([k for k in keys if k])
        new, new_lines, staged, staged_lines = [], array("q"), [], array("q")
        same_lines, same_keys, staged_keys = array("q"), [], []
        for body, line, key in zip(chunk, lines, keys, strict=True):
            if key and key not in stored:
                new.append(body)
                new_lines.append(line)
            # Equal text is equal values (the server renders a cell as the writer does); a
            # cell with an escape could render alike for different values, so it is staged.
            elif key and stored[key] == body and "\\" not in body:
                same_lines.append(line)
                same_keys.append(key)
            else:
                staged.append(body)
                staged_lines.append(line)
                staged_keys.append(key)
        if new:
            if direct and self._write_direct(new):
                self._note_direct(new_lines)
            else:  # a key repeated among them, or no longer direct: all new rows staged
                self.direct = False
                staged += new
                staged_lines.extend(new_lines)
                staged_keys += [self._key(body) for body in new]
        if staged:
            self._write_stage(staged, staged_lines)
        if same_lines:
            self._write_present(same_lines, same_keys)
        self._note_staged(staged_keys)
        self._note_staged(same_keys)

    def _note_staged(self, keys: list[str]) -> None:
        """Remember the work-order keys staged; one the filter may have seen is a candidate
        repeat (`repeats`). Fingerprint keys are unique in a batch by construction."""
        seen, repeats = self._staged, self.repeats
        for key in keys:
            if key[:1] == ORIGIN_PREFIX and not seen.first_time(hash(key)):
                repeats.append(key)

    def maybe_staged(self, key: str) -> bool:
        """False if the work-order key `key` is certainly not in the stage."""
        return self._staged.maybe_seen(hash(key))

    def _stored(self, keys: list[str]) -> dict[str, str | None]:
        """key -> the stored record as this writer's text, for the keys stored (None: it is
        retired, or the batch's own, so it is staged).

        A re-sent export mostly keeps the order in which its records were stored, so the
        stored rows from just after the last record the previous chunk found are read first,
        as one range of the primary key (as many rows as the chunk has keys): the keys found
        there need no lookup of their own, and the rest are looked up by key. A range that
        finds fewer than a quarter of its keys (an export in another order) turns ranges off
        for the batch: the cost is then one wasted range."""
        found: dict[str, tuple[int, str | None]] = {}
        rest = keys
        cur = self.dbapi.cursor()
        try:
            if self._next_id is not None:
                wanted = set(keys)
                start, end = self._next_id, min(self._next_id + len(keys), self.last + 1)
                for at in range(start, end, PROBE_PAGE):
                    where = f"id >= {at:d} AND id < {min(at + PROBE_PAGE, end):d}"
                    found.update(r for r in self._fetch_stored(cur, where) if r[0] in wanted)
                if len(found) < len(keys) // 4:
                    self._ranges = False
                rest = [k for k in keys if k not in found]
            for at in range(0, len(rest), PROBE_PAGE):
                where = f"chave IN ({_literals(rest[at : at + PROBE_PAGE])})"
                found.update(self._fetch_stored(cur, where))
        finally:
            cur.close()
        self._next_id = None
        if self._ranges:  # the next range starts after the chunk's last stored record
            last_found = next((found[k][0] for k in reversed(keys) if k in found), None)
            if last_found is not None and last_found < self.last:
                self._next_id = last_found + 1
        return {k: text for k, (_, text) in found.items()}

    def _fetch_stored(self, cur: Any, where: str) -> Iterator[tuple[str, tuple[int, str | None]]]:
        """(key, (id, the record as this writer's text, None if retired or the batch's own))
        of the manutencoes rows `where` says (a writer that probes says how)."""
        raise NotImplementedError

    def _write_present(self, lines: array[int], keys: list[str]) -> None:
        """The stage's rows for records present unchanged: line, key, PRESENT."""
        rows = [f"({line}, '{key}', {PRESENT})" for line, key in zip(lines, keys, strict=True)]
        _literals(keys)  # checked: quoted as they are
        cur = self.dbapi.cursor()
        try:
            for start in range(0, len(rows), PROBE_PAGE):
                cur.execute(
                    f"INSERT INTO {STAGE} (linha, chave, estado) VALUES "
                    + ", ".join(rows[start : start + PROBE_PAGE])
                )
        finally:
            cur.close()

    def _note_direct(self, lines: array[int]) -> None:
        """Count a chunk written directly."""
        self.direct_rows += len(lines)

    def wait(self) -> None:
        """Block until the chunk in flight is written; re-raise its error."""
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            inflight.result()

    def flush(self) -> None:
        if not self.buffer:
            return
        chunk, lines = self.buffer, self.lines
        self.buffer, self.lines = [], array("q")
        self.wait()
        # Decided here: a failed chunk has changed them by now.
        direct, probing = self.direct, self.probing
        if not self.threaded:
            self._write(chunk, lines, direct, probing)
            self.count += len(chunk)
            if self.on_flush:
                self.on_flush()
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="frota-bulk")
            # The writer thread needs the GIL for moments (a packet, a reply) while the main
            # thread parses; by default it would wait up to 5 ms each time (measured: 0.5-1 s
            # of a 1M-row LOAD DATA). Restored on exit; frota loads one batch at a time.
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(WRITER_SWITCH_INTERVAL)
        self._inflight = self._pool.submit(self._write, chunk, lines, direct, probing)
        self.count += len(chunk)
        if self.on_flush:
            self.on_flush()

    def __enter__(self) -> ChunkedWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self.flush()
            self.wait()  # even on error: the connection must be idle before ROLLBACK
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                sys.setswitchinterval(self._switch_interval)
            self.close()

    def close(self) -> None:
        pass


class TextWriter(ChunkedWriter):
    """Rows as lines of tab-separated text, an empty field for NULL (COPY and LOAD DATA): a
    row is held as its cells' text; the stage's lines add its line number."""

    def _body(self, row: dict[str, Any]) -> str:
        return "\t".join([escape_text(row.get(c)) for c in KEYED])

    def _key(self, body: str) -> str:
        return body[body.rfind("\t") + 1 :]

    def add_canonical(self, cells: tuple[str, ...], line: int) -> None:
        # FastMaintenances let no cell through that would need escaping (keys are hex).
        self.buffer.append("\t".join(cells))
        self.lines.append(line)
        if len(self.buffer) >= self.chunk_rows:  # inline: once per row
            self.flush()

    @staticmethod
    def staged_text(chunk: list[str], lines: array[int]) -> str:
        return "".join([f"{body}\t{line}\n" for body, line in zip(chunk, lines, strict=True)])


def _literals(keys: list[str]) -> str:
    """Keys as SQL string literals, as they are: a key is hex digits after "o" or "f", with ':'
    or '#' (frota.contract.identity), so it holds no quote or backslash (checked, at the cost
    of one scan of the text)."""
    text = "'" + "', '".join(keys) + "'"
    if "\\" in text or text.count("'") != 2 * len(keys):
        raise ValueError("a record key with a quote or a backslash")
    return text


def kind(name: str) -> str:
    """The kind of a `KEYED` column (the key is text)."""
    return "str" if name == "chave" else MANUTENCOES.column(name).kind
