"""What every bulk writer shares: rows buffered into chunks, one chunk in flight on a background
thread while the main thread parses the next, and the text format COPY and LOAD DATA read.

A writer appends to the batch's stage (a temporary table, frota.load.stage) or, while it is
`direct` (the loader's optimistic path, docs/benchmarks.md), straight to `manutencoes`: each
chunk in a savepoint, so that a chunk meeting a key already stored (a record the batch re-sends
or changes, or a work order repeated in the batch) is undone and goes to the stage instead, and
so does every row after it. The rows written directly are then a prefix of the file, and the
stage's `apply` counts them as the batch's own.

Everything runs on the batch transaction's own connection: no statement here commits, so
data, quarantine and ledger still commit together. `wait()` must run before anything else uses
the connection (a chunk may be in flight).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable
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
    subclasses say how (`_body`, `add_canonical`) and how a chunk is written to the stage
    (`_write_stage`) and, in a savepoint, to manutencoes (`_write_direct`: False when the chunk
    met a stored key and was undone). Together they are a `frota.load.writer.MaintenanceWriter`.
    """

    chunk_rows = CHUNK_ROWS

    threaded = True  # the server inserts one chunk while Python parses the next

    def __init__(
        self,
        conn: Connection,
        lote_id: str,
        chunk_rows: int | None = None,
        on_flush: Callable[[], None] | None = None,
        direct: bool = False,
    ) -> None:
        self.conn, self.lote_id, self.on_flush = conn, lote_id, on_flush
        self.chunk_rows = chunk_rows or min(CHUNK_ROWS, type(self).chunk_rows)
        self.dbapi: Any = conn.connection.dbapi_connection
        self.buffer: list[Any] = []
        self.lines = array("q")  # the file line of each buffered row
        self.count = 0
        self.direct = direct  # rows go straight to manutencoes until one needs the stage
        self.direct_rows = 0  # rows written straight to manutencoes
        # Work-order keys staged more than once, with the filter's few false positives: the
        # stage checks these for repeats instead of grouping every staged row (stage.py).
        self.repeats: list[str] = []
        self._staged = RowFilter(STAGED_FILTER_BITS_LOG2)
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: Future[None] | None = None

    def add(self, row: dict[str, Any]) -> None:
        """A typed row from parse_row, with its `chave` (None: its occurrence is unsettled,
        so it and every row after it go to the stage) and `linha`."""
        if row.get("chave") is None and self.direct:
            self.flush()
            self.direct = False
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

    def _write_stage(self, chunk: list[Any], lines: array[int]) -> None:
        raise NotImplementedError

    def _write_direct(self, chunk: list[Any]) -> bool:
        raise NotImplementedError

    def _key(self, body: Any) -> str:
        """The key of a held row ('' while its occurrence is unsettled)."""
        raise NotImplementedError

    def _write(self, chunk: list[Any], lines: array[int], direct: bool) -> None:
        if direct:
            if self._write_direct(chunk):
                self._note_direct(lines)
                return
            self.direct = False  # this chunk met a stored key: it and the rest go to the stage
        self._note_staged(chunk)
        self._write_stage(chunk, lines)

    def _note_staged(self, chunk: list[Any]) -> None:
        """Remember the chunk's work-order keys; one the filter may have seen is a candidate
        repeat (`repeats`). Fingerprint keys are unique in a batch by construction."""
        seen, repeats, key_of = self._staged, self.repeats, self._key
        for body in chunk:
            key = key_of(body)
            if key[:1] == ORIGIN_PREFIX and not seen.first_time(hash(key)):
                repeats.append(key)

    def maybe_staged(self, key: str) -> bool:
        """False if the work-order key `key` is certainly not in the stage."""
        return self._staged.maybe_seen(hash(key))

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
        direct = self.direct  # decided here: a failed direct chunk has turned it off by now
        if not self.threaded:
            self._write(chunk, lines, direct)
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
        self._inflight = self._pool.submit(self._write, chunk, lines, direct)
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
