"""Batch ids, manifests and checksums: the hand-off protocol between machines.

A batch is `batches/<batch_id>/` holding the table CSVs and `_manifest.json`, written last.
`batch_id` = `<UTC YYYYmmddTHHMMSSZ>-<source>-<8 hex of the content hash>`: the same content
always gets the same hash.

The order batches apply in is the manifest's, not the id's (DESIGN §5b): `published_at` to the
microsecond, then the source, then the source's own `sequence` (`Manifest.order_key`). `as_of`
is when the batch's facts were true (the effective time of its vehicle states; default
`published_at`). A snapshot batch declares its export complete for a period of service dates.
Format 1 manifests (no such fields) still load: they order by `created_at` (whole seconds), then
by content hash, as before.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from frota import __version__
from frota.contract import TABLES_BY_FILE
from frota.errors import BadInputError
from frota.i18n import _

MANIFEST_NAME = "_manifest.json"
# Beside the CSVs of a folder `frota generate` writes: what publish should say about it.
FOLDER_INFO_NAME = "_batch.json"
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
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


def format_time(moment: datetime) -> str:
    """`2026-01-10T12:00:00.123456Z`: UTC to the microsecond (sorts as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def naive_utc(moment: datetime) -> datetime:
    """The UTC wall time without a zone, as the databases keep it."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_as_of(text: str) -> date | datetime:
    """`publish --as-of`: a date (a day on the operator's calendar: `day_as_of` reads it when
    publishing), or a date and time (UTC unless it carries an offset such as -03:00).
    ValueError names what is wrong."""
    text = text.strip()
    try:
        if "T" not in text and " " not in text:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (2026-01-31) or a date and time (2026-01-31T18:00-03:00)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day_as_of(day: date, zone: str, published: datetime) -> datetime:
    """The moment a date-only as_of stands for (a generated batch's last simulated day,
    `publish --as-of 2026-01-31`): the **end of that day** on the operator's calendar (the
    `timezone` setting), 23:59:59 local, since the data hold what happened during the day;
    the publish time instead when the day is not over yet. Aware UTC. ValueError for a day
    after the publish time's local date (an as_of in the future)."""
    local = ZoneInfo(zone)
    if day > published.astimezone(local).date():
        raise ValueError(f"{day} is after the publish time's date")
    end = datetime.combine(day, time(23, 59, 59), local).astimezone(UTC)
    return min(end, published.astimezone(UTC))


def parse_time(text: str) -> datetime:
    """An aware UTC datetime from `format_time`'s text (or whole seconds, or a date)."""
    if "T" not in text:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Snapshot:
    """A snapshot export: complete for service dates start..end (inclusive)."""

    start: date
    end: date
    allow_retire: bool = False  # retire more than the loader's limit (publish --allow-retire)

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "allow_retire": self.allow_retire,
        }


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
    published_at: datetime = None  # type: ignore[assignment]  # None: created_at (format 1)
    sequence: int = 0  # per source: 1, 2, ... (0 in format 1)
    as_of: datetime | None = None  # None: published_at
    snapshot: Snapshot | None = None

    def __post_init__(self) -> None:
        if self.published_at is None:
            object.__setattr__(self, "published_at", parse_time(self.created_at))
        if self.as_of is None:
            object.__setattr__(self, "as_of", self.published_at)

    @property
    def effective_at(self) -> datetime:
        """When the batch's facts were true (its vehicle states' effective time)."""
        assert self.as_of is not None  # set in __post_init__
        return self.as_of

    @property
    def order_key(self) -> str:
        """Sorts batches in the order they apply: published_at, source, sequence, content.
        At most 80 characters (a source name is at most 32)."""
        return (
            f"{format_time(self.published_at)}|{self.source}|{self.sequence:010d}|"
            f"{self.content_sha256[:8]}"
        )

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "format_version": self.format_version,
            "batch_id": self.batch_id,
            "source": self.source,
            "created_at": self.created_at,
            "content_sha256": self.content_sha256,
            "producer": self.producer,
            "files": [f.__dict__ for f in self.files],
        }
        if self.format_version >= 2:
            body["published_at"] = format_time(self.published_at)
            body["sequence"] = self.sequence
            body["as_of"] = format_time(self.effective_at)
            if self.snapshot is not None:
                body["snapshot"] = self.snapshot.to_json()
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, *, where: str = MANIFEST_NAME) -> Manifest:
        """Parse and check a manifest; a BadInputError names what is wrong."""
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInputError(
                _("manifest is not valid JSON: {msg}").format(msg=exc.msg),
                file=where,
                line=exc.lineno,
            ) from None
        try:
            version = body["format_version"]
            if version not in READABLE_FORMATS:
                raise BadInputError(
                    _(
                        "manifest format_version {version} is not supported (this frota reads "
                        "{readable})"
                    ).format(version=version, readable=", ".join(map(str, READABLE_FORMATS))),
                    file=where,
                    hint=_("upgrade frota on this machine"),
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
                format_version=int(version),
                **_ordering(body, version),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInputError(
                _("manifest is missing or has a bad field: {exc}").format(exc=exc), file=where
            ) from None
        names = [f.name for f in files]
        if len(set(names)) != len(names):
            raise BadInputError(_("manifest lists the same file twice"), file=where)
        for f in files:
            if TABLES_BY_FILE.get(f.name) is None or TABLES_BY_FILE[f.name].name != f.table:
                raise BadInputError(
                    _("manifest lists an unknown file {name!r}").format(name=f.name), file=where
                )
        if content_hash(files) != manifest.content_sha256:
            raise BadInputError(_("manifest content_sha256 does not match its files"), file=where)
        if manifest.effective_at > manifest.published_at:
            raise BadInputError(_("manifest as_of is later than its published_at"), file=where)
        if not SOURCE_RE.match(manifest.source):
            raise BadInputError(
                _("manifest source {source!r} is not allowed").format(source=manifest.source),
                file=where,
            )
        return manifest


def _ordering(body: dict[str, Any], version: int) -> dict[str, Any]:
    """published_at, sequence, as_of and snapshot of a manifest body (format 1: created_at)."""
    if version == 1:
        return {"published_at": parse_time(str(body["created_at"]))}
    snapshot = body.get("snapshot")
    sequence = int(body["sequence"])
    if sequence < 1:
        raise ValueError(f"sequence {sequence} is not a positive number")
    fields: dict[str, Any] = {
        "published_at": parse_time(str(body["published_at"])),
        "sequence": sequence,
        "as_of": parse_time(str(body["as_of"])),
    }
    if snapshot is not None:
        fields["snapshot"] = Snapshot(
            date.fromisoformat(str(snapshot["start"])),
            date.fromisoformat(str(snapshot["end"])),
            bool(snapshot.get("allow_retire", False)),
        )
        if fields["snapshot"].start > fields["snapshot"].end:
            raise ValueError("snapshot start is after its end")
    return fields


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

    with open(path, "rb") as fh:  # no quote in the file: a record is a non-empty line
        lines = 0
        for line in fh:
            if b'"' in line:
                break
            if line not in (b"\n", b"\r\n"):
                lines += 1
        else:
            return max(lines - 1, 0)
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
            _("source name {source!r} is not allowed").format(source=source),
            hint=_("use lowercase letters, digits, '.', '_' or '-' (at most 32 characters)"),
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


def build_manifest(
    files: list[FileEntry],
    source: str,
    now: datetime | None = None,
    *,
    sequence: int = 1,
    as_of: datetime | None = None,
    snapshot: Snapshot | None = None,
) -> Manifest:
    """The manifest for a batch of these files, published at `now` (to the microsecond)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    chash = content_hash(files)
    return Manifest(
        batch_id=make_batch_id(source, chash, now),
        source=source,
        created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        content_sha256=chash,
        producer=f"frota {__version__}",
        files=tuple(files),
        published_at=now,
        sequence=sequence,
        as_of=as_of.astimezone(UTC) if as_of else None,
        snapshot=snapshot,
    )


def next_publish_time(last: datetime | None, now: datetime) -> datetime:
    """`now`, or just after `last` if the clock is not past it (a clock set back, or two
    publishes in one microsecond): a source's published_at only grows."""
    if last is not None and now <= last:
        return last + timedelta(microseconds=1)
    return now


def write_folder_info(folder: Path, as_of: date) -> None:
    """Tell `publish` when a generated folder's data was true (its simulated day)."""
    body = {"as_of": as_of.isoformat()}
    (folder / FOLDER_INFO_NAME).write_text(json.dumps(body) + "\n", encoding="utf-8")


def read_folder_info(folder: Path) -> date | None:
    """The day a folder's info file says its data are as of (None: no file); `day_as_of`
    turns it into the manifest's as_of."""
    path = folder / FOLDER_INFO_NAME
    if not path.exists():
        return None
    try:
        return date.fromisoformat(str(json.loads(path.read_text(encoding="utf-8"))["as_of"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInputError(
            _("unreadable batch info: {exc}").format(exc=exc), file=str(path)
        ) from None
