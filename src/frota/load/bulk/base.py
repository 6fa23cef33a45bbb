"""What every bulk writer shares: rows buffered into chunks, one chunk in flight on a background
thread while the main thread parses the next, and the text format COPY and LOAD DATA read.

Every writer appends to the batch's stage (a temporary table, frota.load.stage), on the batch
transaction's own connection: no statement here commits, so
data, quarantine and ledger still commit together. `wait()` must run before anything else uses
the connection (a chunk may be in flight).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from frota.contract import MANUTENCOES
from frota.contract.canonical import NEEDS_ESCAPE, format_value

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

# The batch's stage (frota.load.stage): the contract's cells, the record's key (NULL while its
# occurrence in the batch is unsettled) and the row's line in the file.
STAGE = "frota_stage"
COLUMNS = (*MANUTENCOES.csv_header, "chave", "linha")
REQUIRED = (*(c.name for c in MANUTENCOES.csv_columns if c.required), "linha")
OPTIONAL = tuple(c for c in COLUMNS if c not in REQUIRED)  # '' means NULL
CHUNK_ROWS = 50_000  # rows per statement/COPY/file: a few MB in flight, two chunks at most
WRITER_SWITCH_INTERVAL = 0.0005  # seconds: how long the writer thread may wait for the GIL


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

    Subclasses say how a row is held (`add`, `add_canonical`) and how a chunk is written
    (`_write`); together they are a `frota.load.writer.MaintenanceWriter`."""

    chunk_rows = CHUNK_ROWS

    threaded = True  # the server inserts one chunk while Python parses the next

    def __init__(
        self,
        conn: Connection,
        lote_id: str,
        chunk_rows: int | None = None,
        on_flush: Callable[[], None] | None = None,
    ) -> None:
        self.conn, self.lote_id, self.on_flush = conn, lote_id, on_flush
        self.chunk_rows = chunk_rows or min(CHUNK_ROWS, type(self).chunk_rows)
        self.dbapi: Any = conn.connection.dbapi_connection
        self.buffer: list[Any] = []
        self.count = 0
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: Future[None] | None = None

    def add(self, row: dict[str, Any]) -> None:
        """A typed row from parse_row, with its `chave` (or None) and `linha`."""
        raise NotImplementedError

    def add_canonical(self, cells: tuple[str, ...]) -> None:
        """A row FastMaintenances validated: canonical text cells, '' for NULL, then its key
        and its line number."""
        raise NotImplementedError

    def _write(self, chunk: list[Any]) -> None:
        raise NotImplementedError

    def _added(self) -> None:
        if len(self.buffer) >= self.chunk_rows:
            self.flush()

    def wait(self) -> None:
        """Block until the chunk in flight is written; re-raise its error."""
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            inflight.result()

    def flush(self) -> None:
        if not self.buffer:
            return
        chunk, self.buffer = self.buffer, []
        self.wait()
        if not self.threaded:
            self._write(chunk)
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
        self._inflight = self._pool.submit(self._write, chunk)
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
    """Rows as lines of tab-separated text, an empty field for NULL (COPY and LOAD DATA)."""

    def add(self, row: dict[str, Any]) -> None:
        self.buffer.append("\t".join([escape_text(row.get(c)) for c in COLUMNS]) + "\n")
        self._added()

    def add_canonical(self, cells: tuple[str, ...]) -> None:
        # FastMaintenances let no cell through that would need escaping (keys are hex).
        self.buffer.append("\t".join(cells) + "\n")
        if len(self.buffer) >= self.chunk_rows:  # inline: once per row
            self.flush()
