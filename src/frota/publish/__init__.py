"""The source's step: turn a folder of canonical CSVs into an immutable, checksummed batch on a
landing area. Files first, manifest last; never overwrite; identical content is detected.

- `publish_dir`: one folder of canonical CSVs -> one batch.
- `publish_outbox`: every folder `frota generate` left in the outbox, oldest first; each is
  moved to `<outbox>/_published/` once its batch is complete on the landing area.
- `publish_export`: a user's own CSV exports (`frota publish --from DIR`), validated and
  rewritten as canonical CSVs first (see `frota.publish.exports`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from frota.batch import (
    MANIFEST_NAME,
    FileEntry,
    Manifest,
    build_manifest,
    describe_files,
    sha256_file,
)
from frota.config import Settings
from frota.errors import BadInputError, LandingError
from frota.landing import Landing, open_landing
from frota.observe.log import logger

__all__ = ["PublishResult", "publish_dir", "publish_export", "publish_outbox"]

PUBLISHED_DIR = "_published"


@dataclass(frozen=True)
class PublishResult:
    """One folder's fate: published as a new batch, completed, or already there."""

    batch_id: str
    status: str  # "published" | "completed" | "already_published"
    files: tuple[FileEntry, ...]
    landing: str

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


def _existing_with_content(landing: Landing, content_sha256: str) -> tuple[str | None, str | None]:
    """(complete batch with this content, incomplete batch folder that may be ours)."""
    suffix = "-" + content_sha256[:8]
    complete = incomplete = None
    for batch_id in sorted(landing.list_batch_ids()):
        if not batch_id.endswith(suffix):
            continue
        names = {f.name for f in landing.list_files(batch_id)}
        if MANIFEST_NAME in names:
            try:
                manifest = Manifest.from_json(landing.read_text(batch_id, MANIFEST_NAME))
            except BadInputError:
                continue
            if manifest.content_sha256 == content_sha256:
                complete = batch_id
        else:
            incomplete = batch_id
    return complete, incomplete


def publish_dir(
    directory: Path, landing: Landing, source: str, *, now: datetime | None = None
) -> PublishResult:
    """Publish the table CSVs of `directory` as one batch (manifest written last)."""
    files = describe_files(directory)
    if not files:
        raise BadInputError(
            "no veiculos.csv or manutencoes.csv to publish",
            file=str(directory),
            hint="a batch needs at least one table file",
        )
    manifest = build_manifest(files, source, now)
    complete, incomplete = _existing_with_content(landing, manifest.content_sha256)
    if complete:
        logger.info("identical content is already published as batch %s; nothing to do", complete)
        return PublishResult(complete, "already_published", tuple(files), landing.display)
    status = "published"
    if incomplete and _can_complete(landing, incomplete, files):
        # An earlier publish of this same content was interrupted: finish it.
        manifest = build_manifest(files, source, _batch_time(incomplete))
        manifest = Manifest(**{**manifest.__dict__, "batch_id": incomplete})
        status = "completed"
    present = {f.name: f.size for f in landing.list_files(manifest.batch_id)}
    for entry in files:
        if entry.name not in present:
            landing.upload(directory / entry.name, manifest.batch_id, entry.name)
    with tempfile.TemporaryDirectory(prefix="frota-manifest-") as tmp:
        path = Path(tmp) / MANIFEST_NAME
        path.write_text(manifest.to_json(), encoding="utf-8")
        landing.upload(path, manifest.batch_id, MANIFEST_NAME)
    logger.info(
        "%s batch %s to %s (%d rows)",
        status,
        manifest.batch_id,
        landing.display,
        sum(f.rows for f in files),
    )
    return PublishResult(manifest.batch_id, status, tuple(files), landing.display)


def _batch_time(batch_id: str) -> datetime:
    return datetime.strptime(batch_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _can_complete(landing: Landing, batch_id: str, files: list[FileEntry]) -> bool:
    """An interrupted upload can be finished if every file already there is exactly ours."""
    ours = {f.name: f for f in files}
    with tempfile.TemporaryDirectory(prefix="frota-check-") as tmp:
        for remote in landing.list_files(batch_id):
            entry = ours.get(remote.name)
            if entry is None or remote.size != entry.bytes:
                return False
            target = Path(tmp) / remote.name
            landing.download(batch_id, remote.name, target)
            if sha256_file(target)[0] != entry.sha256:
                return False
    return True


def outbox_folders(outbox: Path) -> list[Path]:
    """Folders `frota generate` wrote and nobody published yet, oldest first."""
    if not outbox.is_dir():
        return []
    return sorted(p for p in outbox.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def publish_outbox(settings: Settings, *, now: datetime | None = None) -> list[PublishResult]:
    """Publish every pending outbox folder, oldest first; move each to `_published/` after."""
    landing = open_landing(settings.landing)
    outbox = Path(settings.outbox)
    results = []
    stamp = (now or datetime.now(UTC)).replace(microsecond=0)
    for folder in outbox_folders(outbox):
        # Batch ids sort by their timestamp: give each folder its own second, in order.
        result = publish_dir(folder, landing, settings.source, now=stamp)
        stamp = max(stamp + timedelta(seconds=1), datetime.now(UTC).replace(microsecond=0))
        done = outbox / PUBLISHED_DIR / folder.name
        done.parent.mkdir(parents=True, exist_ok=True)
        if done.exists():
            shutil.rmtree(done)
        os.replace(folder, done)
        results.append(result)
    if not results:
        logger.info("outbox %s has nothing to publish", outbox)
    return results


def publish_export(
    directory: Path,
    settings: Settings,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal_comma: bool | None = None,
    now: datetime | None = None,
) -> PublishResult:
    """Validate a user's CSV exports, write canonical CSVs, publish them as one batch."""
    from frota.contract.tabular import FilePolicy
    from frota.publish.exports import canonicalize_exports

    landing = open_landing(settings.landing)
    with tempfile.TemporaryDirectory(prefix="frota-export-") as tmp:
        report = canonicalize_exports(
            Path(directory),
            Path(tmp),
            encoding=encoding,
            delimiter=delimiter,
            decimal_comma=decimal_comma,
            policy=FilePolicy.from_settings(settings),
        )
        for line in report:
            logger.info("%s", line)
        return publish_dir(Path(tmp), landing, settings.source, now=now)


__all__ += ["LandingError", "outbox_folders"]
