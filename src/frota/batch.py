"""Batch ids, manifests and checksums: the hand-off protocol between machines.

A batch is `batches/<batch_id>/` holding the table CSVs and `_manifest.json`, written last.
`batch_id` = `<UTC YYYYmmddTHHMMSSZ>-<source>-<8 hex of the content hash>`, so sorting ids
sorts batches by creation time and the same content always gets the same hash.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from frota import __version__
from frota.contract import TABLES_BY_FILE
from frota.errors import BadInputError

MANIFEST_NAME = "_manifest.json"
FORMAT_VERSION = 1
BATCH_ID_RE = re.compile(r"^(\d{8}T\d{6}Z)-([a-z0-9][a-z0-9_.-]{0,31})-([0-9a-f]{8})$")
SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileEntry:
    """One data file of a batch as the manifest records it."""

    name: str
    table: str
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """The manifest of one batch."""

    batch_id: str
    source: str
    created_at: str
    content_sha256: str
    producer: str
    files: tuple[FileEntry, ...]
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        body = {
            "format_version": self.format_version,
            "batch_id": self.batch_id,
            "source": self.source,
            "created_at": self.created_at,
            "content_sha256": self.content_sha256,
            "producer": self.producer,
            "files": [f.__dict__ for f in self.files],
        }
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, *, where: str = MANIFEST_NAME) -> Manifest:
        """Parse and check a manifest; a BadInputError names what is wrong."""
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInputError(
                f"manifest is not valid JSON: {exc.msg}", file=where, line=exc.lineno
            ) from None
        try:
            if body["format_version"] != FORMAT_VERSION:
                raise BadInputError(
                    f"manifest format_version {body['format_version']} is not supported "
                    f"(this frota reads {FORMAT_VERSION})",
                    file=where,
                    hint="upgrade frota on this machine",
                )
            files = tuple(
                FileEntry(
                    name=str(f["name"]),
                    table=str(f["table"]),
                    rows=int(f["rows"]),
                    bytes=int(f["bytes"]),
                    sha256=str(f["sha256"]),
                )
                for f in body["files"]
            )
            manifest = cls(
                batch_id=str(body["batch_id"]),
                source=str(body["source"]),
                created_at=str(body["created_at"]),
                content_sha256=str(body["content_sha256"]),
                producer=str(body["producer"]),
                files=files,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInputError(
                f"manifest is missing or has a bad field: {exc}", file=where
            ) from None
        names = [f.name for f in files]
        if len(set(names)) != len(names):
            raise BadInputError("manifest lists the same file twice", file=where)
        for f in files:
            if TABLES_BY_FILE.get(f.name) is None or TABLES_BY_FILE[f.name].name != f.table:
                raise BadInputError(f"manifest lists an unknown file {f.name!r}", file=where)
        if content_hash(files) != manifest.content_sha256:
            raise BadInputError("manifest content_sha256 does not match its files", file=where)
        return manifest


def sha256_file(path: Path) -> tuple[str, int]:
    """sha256 hex digest and size of a file, streamed."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def count_csv_rows(path: Path) -> int:
    """Data rows of a canonical CSV: records, not lines (quoted newlines count once), without
    blank lines. Informative only: the checksum is what identifies the file. Bytes that are
    not UTF-8 are tolerated here; the loader rejects such a file naming the line."""
    import csv

    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        return max(sum(1 for record in csv.reader(fh) if record) - 1, 0)


def content_hash(files: Iterable[FileEntry]) -> str:
    """Identity of a batch's content: hash of (name, sha256) of its files, sorted."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.name):
        digest.update(f"{f.name}\0{f.sha256}\n".encode())
    return digest.hexdigest()


def make_batch_id(source: str, content_sha256: str, now: datetime | None = None) -> str:
    """`<UTC timestamp>-<source>-<8 hex>`."""
    if not SOURCE_RE.match(source):
        raise BadInputError(
            f"source name {source!r} is not allowed",
            hint="use lowercase letters, digits, '.', '_' or '-' (at most 32 characters)",
        )
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{source}-{content_sha256[:8]}"


def is_batch_id(name: str) -> bool:
    return bool(BATCH_ID_RE.match(name))


def describe_files(directory: Path) -> list[FileEntry]:
    """Checksum the table CSVs present in a local directory."""
    entries = []
    for name, table in sorted(TABLES_BY_FILE.items()):
        path = directory / name
        if path.exists():
            sha, size = sha256_file(path)
            entries.append(FileEntry(name, table.name, count_csv_rows(path), size, sha))
    return entries


def build_manifest(files: list[FileEntry], source: str, now: datetime | None = None) -> Manifest:
    """The manifest for a batch of these files."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    chash = content_hash(files)
    return Manifest(
        batch_id=make_batch_id(source, chash, now),
        source=source,
        created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        content_sha256=chash,
        producer=f"frota {__version__}",
        files=tuple(files),
    )
