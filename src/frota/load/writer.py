"""What the loader asks of a maintenance writer: the interface the bulk writers
(`frota.load.bulk`) implement and the fast path, the quarantine and the loader use, so that
none of them depends on a dialect's writer."""

from __future__ import annotations

from typing import Any, Protocol


class MaintenanceWriter(Protocol):
    """Appends maintenance rows (with the batch's lote_id) inside the batch transaction."""

    count: int  # rows handed to the database so far
    direct_rows: int  # of which written straight to manutencoes
    repeats: list[str]  # work-order keys maybe staged more than once (all that are, and a few)

    def maybe_staged(self, key: str) -> bool:
        """False if the work-order key `key` is certainly not staged."""

    def add(self, row: dict[str, Any]) -> None:
        """A typed row from parse_row, with its `chave` and `linha`."""

    def add_canonical(self, cells: tuple[str, ...], line: int) -> None:
        """A row the fast path validated: canonical text cells, '' for NULL, then its key."""

    def wait(self) -> None:
        """Block until nothing is in flight on the connection; re-raise a write's error."""

    def __enter__(self) -> MaintenanceWriter: ...

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        """Write what is buffered (unless leaving on an error) and leave the connection idle."""
