"""A folder the company's own export job writes to (`frota run --role source --from DIR`, the
`exports` setting): each new export in it is published exactly once.

An export is the folder DIR itself when it holds table files (a job that overwrites
`veiculos.csv` / `manutencoes.csv` each day), and each subfolder of DIR (a job that writes a
folder a day); names starting with `_` or `.` are left alone. Exports go oldest first (their
newest file's time, then their name).

Exactly once, by content: the digest of an export's table files is written to
`<outbox>/_exports-published.json` once its batch is complete on the landing area, and an
export whose digest is there is not taken again (the export folder is never written to: it can
be a read-only share, and a job that overwrites its files keeps working). An export the
publisher refused (a bad header…) is remembered too, with its error, and taken again only once
its files change. Should that file be lost, the landing area still recognises identical
content (`already_published`), so nothing is published twice.

Half-written exports are not taken: every table file and the export's folder must be unchanged
(size and modification time) for `exports_settle_seconds` (default 60), and unchanged again
after they are read. A copy in progress keeps changing them; the next run takes the export.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from frota.batch import sha256_file
from frota.config import Settings
from frota.contract import TABLES
from frota.contract.tabular import header_key
from frota.errors import BadInputError, LocalFileError
from frota.i18n import _
from frota.publish.exports import find_table_files

STATE_FILE = "_exports-published.json"


@dataclass(frozen=True)
class Export:
    """One export found in the folder: its table files, their digest, when it was written."""

    folder: Path
    files: tuple[Path, ...]
    digest: str
    written_at: datetime


def candidate_folders(directory: Path) -> list[Path]:
    """DIR itself if it holds table files, and each subfolder not named `_…` or `.…`."""
    if not directory.is_dir():
        raise BadInputError(
            _("the exports folder does not exist"),
            file=str(directory),
            hint=_("set `exports` in frota.toml (or --from) to the folder your export job writes"),
        )
    found = [directory] if _has_table_file(directory) else []
    found += sorted(
        p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
    )
    return found


def _has_table_file(folder: Path) -> bool:
    """A veiculos / manutencoes file is there (named as `find_table_files` matches them)."""
    names = {table.name for table in TABLES}
    return any(
        p.is_file() and p.suffix.lower() in (".csv", ".txt") and header_key(p.stem) in names
        for p in folder.iterdir()
    )


def _signature(paths: list[Path]) -> tuple[tuple[int, int], ...]:
    stats = [p.stat() for p in paths]
    return tuple((s.st_size, s.st_mtime_ns) for s in stats)


def read_export(folder: Path, settle_seconds: float, *, now: float | None = None) -> Export | None:
    """The export in `folder`, or None while it is still being written (or has no table file
    yet). Raises BadInputError for a folder with two files for one table (said, not guessed)."""
    if not _has_table_file(folder):
        return None
    files = sorted(find_table_files(folder)[0].values())
    watched = [folder, *files]
    before = _signature(watched)
    newest = max(mtime for _, mtime in before) / 1e9
    if (time.time() if now is None else now) - newest < settle_seconds:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name.lower()}\0{sha256_file(path)[0]}\n".encode())
    if _signature(watched) != before:  # changed while being read
        return None
    written = datetime.fromtimestamp(newest, UTC)
    return Export(folder, tuple(files), digest.hexdigest(), written)


class PublishedExports:
    """`<outbox>/_exports-published.json`: export digest -> its batch id, or why it was refused."""

    def __init__(self, outbox: Path) -> None:
        self.path = outbox / STATE_FILE
        self.entries: dict[str, dict[str, str]] = {}
        if self.path.exists():
            try:
                self.entries = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise LocalFileError(
                    _("cannot read the record of published exports {path}: {exc}").format(
                        path=self.path, exc=exc
                    ),
                    hint=_(
                        "fix or delete it: identical content already on the landing "
                        "area is still recognised and not published twice"
                    ),
                ) from None

    def get(self, digest: str) -> dict[str, str] | None:
        return self.entries.get(digest)

    def remember(self, export: Export, **what: str) -> None:
        """Record an export's fate; written atomically (a temporary file renamed over)."""
        self.entries[export.digest] = {
            "folder": str(export.folder),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            **what,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.entries, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


def exports_folder(settings: Settings, from_dir: str | os.PathLike[str] | None) -> Path | None:
    """The folder to publish exports from: `--from`, else the `exports` setting, else None."""
    chosen = from_dir if from_dir is not None else settings.exports or None
    return Path(chosen) if chosen is not None else None
