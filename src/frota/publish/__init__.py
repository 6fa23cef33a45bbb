"""The source's step: turn a folder of canonical CSVs into an immutable, checksummed batch on a
landing area. Files first, manifest last; never overwrite; identical content is detected.

- `publish_dir`: one folder of canonical CSVs -> one batch.
- `publish_outbox`: every folder `frota generate` left in the outbox, oldest first; each is
  moved to `<outbox>/_published/` once its batch is complete on the landing area.
- `publish_export`: a user's own CSV exports (`frota publish --from DIR`), validated and
  rewritten as canonical CSVs first (see `frota.publish.exports`); what it found comes back
  with the result, in the export's own terms (`frota.publish.findings`).
- `check_export`: the same checks without publishing (`frota publish --from DIR --dry-run`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from frota.batch import (
    BATCH_ID_RE,
    MANIFEST_NAME,
    FileEntry,
    Manifest,
    Snapshot,
    build_manifest,
    day_as_of,
    describe_files,
    next_publish_time,
    read_folder_info,
    sha256_file,
)
from frota.config import Settings
from frota.contract import MANUTENCOES
from frota.contract.canonical import iter_canonical_rows
from frota.errors import BadInputError, ConfigError, LandingError
from frota.i18n import _
from frota.landing import Landing, open_landing
from frota.observe.log import logger
from frota.observe.runs import recorded
from frota.publish.exports_dir import Export
from frota.publish.findings import ExportCheck, Finding

__all__ = [
    "ExportsResult",
    "PublishResult",
    "check_export",
    "publish_dir",
    "publish_export",
    "publish_new_exports",
    "publish_outbox",
]

PUBLISHED_DIR = "_published"


@dataclass(frozen=True)
class PublishResult:
    """One folder's fate: published as a new batch, completed, or already there."""

    batch_id: str  # "" when there was nothing to publish
    status: str  # "published" | "completed" | "already_published" | "no_rows"
    files: tuple[FileEntry, ...]
    landing: str
    check: ExportCheck | None = None  # for an export: what checking it found

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


@dataclass(frozen=True)
class _LandingView:
    complete: str | None  # a complete batch with this content
    incomplete: str | None  # an incomplete batch folder with this content's hash (maybe ours)
    last: Manifest | None  # this source's latest batch: the sequence and time to follow


def _read_manifest(landing: Landing, batch_id: str) -> Manifest | None:
    """The batch's manifest; None if it has none yet (an upload in progress) or a bad one."""
    if MANIFEST_NAME not in {f.name for f in landing.list_files(batch_id)}:
        return None
    try:
        return Manifest.from_json(landing.read_text(batch_id, MANIFEST_NAME))
    except BadInputError:
        return None


def _view(landing: Landing, source: str, content_sha256: str) -> _LandingView:
    """One listing of the landing area: identical content already there, and what this
    source published last (the newest second of its ids that holds a complete batch)."""
    suffix = "-" + content_sha256[:8]
    complete = incomplete = None
    by_second: dict[str, list[str]] = {}
    for batch_id in sorted(landing.list_batch_ids(missing_ok=True)):  # the upload creates it
        match = BATCH_ID_RE.match(batch_id)
        if match and match.group(2) == source:
            by_second.setdefault(match.group(1), []).append(batch_id)
        if not batch_id.endswith(suffix):
            continue
        manifest = _read_manifest(landing, batch_id)
        if manifest is None:
            incomplete = batch_id
        elif manifest.content_sha256 == content_sha256:
            complete = batch_id
    last = None
    for second in sorted(by_second, reverse=True):
        found = [m for m in (_read_manifest(landing, b) for b in by_second[second]) if m]
        if found:
            last = max(found, key=lambda m: (m.published_at, m.sequence))
            break
    return _LandingView(complete, incomplete, last)


def _simulated_day(folder: Path, now: datetime | None, timezone: str) -> date | None:
    """The day a generated folder's data are as of; None (the publish time) for a day that has
    not begun on the operator's calendar (a generator run on a UTC clock ahead of it)."""
    day = read_folder_info(folder)
    try:
        today = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return day  # publish_dir names the bad setting
    return day if day is None or day <= today else None


def _moment_of_day(day: date, timezone: str, published: datetime) -> datetime:
    """A date-only as_of as the moment it stands for (frota.batch.day_as_of); a day after the
    publish date as its first moment, which publish_dir refuses as in the future."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            _("unknown time zone {timezone!r} (setting timezone)").format(timezone=timezone),
            hint=_("use an IANA name such as America/Sao_Paulo or America/Manaus"),
        ) from None
    try:
        return day_as_of(day, timezone, published)
    except ValueError:
        return datetime.combine(day, datetime.min.time(), zone)


def publish_dir(
    directory: Path,
    landing: Landing,
    source: str,
    *,
    now: datetime | None = None,
    as_of: date | datetime | None = None,
    snapshot: Snapshot | None = None,
    timezone: str = Settings.timezone,
) -> PublishResult:
    """Publish the table CSVs of `directory` as one batch (manifest written last).

    The batch follows this source's last batch: the next `sequence`, and a `published_at` past
    the last one's even if the clock went back. `now` (tests, the outbox's spacing) is taken
    as given. `as_of`: when the data was true (default: the publish time; never later); a
    date is the end of that day in `timezone` (the setting), or the publish time if the day
    is not over yet (frota.batch.day_as_of).
    """
    files = describe_files(directory)
    if not files:
        raise BadInputError(
            _("no veiculos.csv or manutencoes.csv to publish"),
            file=str(directory),
            hint=_("a batch needs at least one table file"),
        )
    clock = datetime.now(UTC)
    probe = build_manifest(files, source, now or clock)
    view = _view(landing, source, probe.content_sha256)
    if view.complete and snapshot is not None:
        # The same files declared otherwise (e.g. again with --allow-retire): a new batch.
        earlier = _read_manifest(landing, view.complete)
        if earlier is None or earlier.snapshot != snapshot:
            view = _LandingView(None, view.incomplete, view.last)
    if view.complete:
        logger.info(
            "identical content is already published as batch %s; nothing to do", view.complete
        )
        return PublishResult(view.complete, "already_published", tuple(files), landing.display)
    last = view.last
    published = now or next_publish_time(last.published_at if last else None, clock)
    if as_of is not None and not isinstance(as_of, datetime):
        as_of = _moment_of_day(as_of, timezone, published)
    if as_of is not None and as_of.astimezone(UTC) > published:
        raise BadInputError(
            _("as_of {as_of} is in the future (now is {now})").format(
                as_of=as_of.isoformat(), now=published.isoformat()
            ),
            file=str(directory),
            hint=_("as_of says when the exported data was true: today or earlier"),
        )
    sequence = (last.sequence if last else 0) + 1
    manifest = build_manifest(
        files, source, published, sequence=sequence, as_of=as_of, snapshot=snapshot
    )
    status = "published"
    if view.incomplete and _can_complete(landing, view.incomplete, files):
        # An earlier publish of this same content was interrupted: finish it under its id.
        manifest = Manifest(**{**manifest.__dict__, "batch_id": view.incomplete})
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


def _counts(results: list[PublishResult]) -> dict[str, int]:
    counts = {
        "batches": sum(1 for r in results if r.batch_id),
        "rows": sum(r.rows for r in results),
    }
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


def outbox_folders(outbox: Path) -> list[Path]:
    """Folders `frota generate` wrote and nobody published yet, oldest first."""
    if not outbox.is_dir():
        return []
    return sorted(p for p in outbox.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


@recorded("publish", counts=_counts)
def publish_outbox(
    settings: Settings,
    *,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[PublishResult]:
    """Publish every pending outbox folder, oldest first, each as of its simulated day; move
    each to `_published/` after. They apply in the order published (their sequence).
    `progress` is told the folders done (and, via `set_total`, how many there are)."""
    landing = open_landing(settings.landing)
    outbox = Path(settings.outbox)
    results = []
    folders = outbox_folders(outbox)
    set_total = getattr(progress, "set_total", None)
    if set_total is not None:
        set_total(len(folders))
    for folder in folders:
        result = publish_dir(
            folder,
            landing,
            settings.source,
            now=now,
            as_of=_simulated_day(folder, now, settings.timezone),
            timezone=settings.timezone,
        )
        done = outbox / PUBLISHED_DIR / folder.name
        done.parent.mkdir(parents=True, exist_ok=True)
        if done.exists():
            shutil.rmtree(done)
        os.replace(folder, done)
        results.append(result)
        if progress is not None:
            progress(len(results))
    if not results:
        logger.info("outbox %s has nothing to publish", outbox)
    return results


@contextmanager
def _findings_to(
    report: Path | None, on_finding: Callable[[Finding], None] | None
) -> Iterator[Callable[[Finding], None] | None]:
    """One callback for the findings: to the report sheet (if any) and to `on_finding`."""
    if report is None:
        yield on_finding
        return
    from frota.publish.findings import problem_sheet

    with problem_sheet(report) as write:

        def both(finding: Finding) -> None:
            write(finding)
            if on_finding is not None:
                on_finding(finding)

        yield both


def check_export(
    directory: Path,
    settings: Settings,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal_comma: bool | None = None,
    report: Path | None = None,
    on_finding: Callable[[Finding], None] | None = None,
    today: date | None = None,
) -> ExportCheck:
    """Check a user's exports as `publish_export` does, every file, publishing nothing.

    Every problem goes to `on_finding` and, with `report`, to a pt-BR sheet; a refused file is
    a finding too (`ExportCheck.refused`)."""
    from frota.contract.tabular import FilePolicy
    from frota.publish.exports import canonicalize_exports

    with (
        tempfile.TemporaryDirectory(prefix="frota-check-") as tmp,
        _findings_to(report, on_finding) as tell,
    ):
        return canonicalize_exports(
            Path(directory),
            Path(tmp),
            encoding=encoding,
            delimiter=delimiter,
            decimal_comma=decimal_comma,
            today=today,
            policy=FilePolicy.from_settings(settings),
            on_finding=tell,
            keep_going=True,
        )


@recorded("publish", counts=lambda r: _counts([r]))
def publish_export(
    directory: Path,
    settings: Settings,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal_comma: bool | None = None,
    now: datetime | None = None,
    as_of: date | datetime | None = None,
    report: Path | None = None,
    on_finding: Callable[[Finding], None] | None = None,
    snapshot: bool = False,
    period: tuple[date, date] | None = None,
    allow_retire: bool = False,
) -> PublishResult:
    """Validate a user's CSV exports, write canonical CSVs, publish them as one batch.

    `snapshot`: the export is complete for `period` (default: its first to last service
    date); the loader retires the source's stored maintenances of that period it lacks
    (more than snapshot_max_retire_share of them only with `allow_retire`).

    `as_of`: when the export's data was true (default: now); a time in the future is refused;
    a date is the end of that day in the `timezone` setting (frota.batch.day_as_of).
    The result's `check` says what the loader will hold back; `report` / `on_finding` as in
    `check_export`. An export whose files hold only headers has no rows today: nothing is
    published (status `no_rows`)."""
    from frota.contract.tabular import FilePolicy
    from frota.publish.exports import canonicalize_exports

    landing = open_landing(settings.landing)
    with (
        tempfile.TemporaryDirectory(prefix="frota-export-") as tmp,
        _findings_to(report, on_finding) as tell,
    ):
        check = canonicalize_exports(
            Path(directory),
            Path(tmp),
            encoding=encoding,
            delimiter=delimiter,
            decimal_comma=decimal_comma,
            policy=FilePolicy.from_settings(settings),
            on_finding=tell,
        )
        for line in check.lines():
            logger.info("%s", line)
        for warning in check.warnings():
            logger.warning("%s", warning)
        declared = snapshot_of(Path(tmp), period, allow_retire) if snapshot else None
        if not check.rows:
            logger.info("the export in %s has no rows today; nothing to publish", directory)
            return PublishResult("", "no_rows", (), landing.display, check)
        result = publish_dir(
            Path(tmp),
            landing,
            settings.source,
            now=now,
            as_of=as_of,
            snapshot=declared,
            timezone=settings.timezone,
        )
        return PublishResult(**{**result.__dict__, "check": check})


def snapshot_of(
    canonical: Path, period: tuple[date, date] | None, allow_retire: bool = False
) -> Snapshot:
    """The snapshot a folder of canonical CSVs declares; BadInputError for one without
    maintenances (it would retire every record of its period)."""
    path = canonical / MANUTENCOES.file_name
    days = (
        [date.fromisoformat(r["data_manutencao"]) for r in iter_canonical_rows(path)]
        if path.exists()
        else []
    )
    if not days:
        raise BadInputError(
            _("a snapshot export without maintenances would retire every record of its period"),
            file=MANUTENCOES.file_name,
            hint=_("export the period's maintenances, or publish without --snapshot"),
        )
    start, end = period or (min(days), max(days))
    outside = [d for d in days if not start <= d <= end]
    if outside:
        raise BadInputError(
            _("{n} maintenance(s) outside the snapshot's period {start}..{end}").format(
                n=len(outside), start=start.isoformat(), end=end.isoformat()
            ),
            file=MANUTENCOES.file_name,
            hint=_("give a --period that holds every service date of the export"),
        )
    return Snapshot(start, end, allow_retire)


@dataclass
class ExportsResult:
    """What one look at the exports folder did."""

    published: list[tuple[Export, PublishResult]] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)  # (folder, why)
    still_refused: list[tuple[Path, str]] = field(default_factory=list)  # refused before
    waiting: list[Path] = field(default_factory=list)  # still being written
    seen: int = 0  # exports already published or refused before


def _exports_counts(result: ExportsResult) -> dict[str, int]:
    return {
        "published": sum(1 for _, p in result.published if p.batch_id),
        "rows": sum(p.rows for _, p in result.published),
        "refused": len(result.refused),
        "waiting": len(result.waiting),
        "seen": result.seen,
    }


@recorded(
    "exports",
    counts=_exports_counts,
    status=lambda r: "rejected" if r.refused else "ok",
    error=lambda r: "; ".join(f"{folder}: {why}" for folder, why in r.refused) or None,
    # A refused export alerts once and stays open until its files change and it publishes.
    problems=lambda r: {
        f"export:{folder}": f"export {folder} refused: {why}"
        for folder, why in [*r.refused, *r.still_refused]
    },
    judged_prefix="export:",
)
def publish_new_exports(
    directory: Path, settings: Settings, *, now: datetime | None = None
) -> ExportsResult:
    """Publish each export in `directory` not published (or refused) before, oldest first,
    each as of when it was written (see `frota.publish.exports_dir`)."""
    from frota.publish.exports_dir import PublishedExports, candidate_folders, read_export

    record = PublishedExports(Path(settings.outbox))
    result = ExportsResult()
    ready = []
    for folder in candidate_folders(Path(directory)):
        try:
            export = read_export(folder, settings.exports_settle_seconds)
        except BadInputError as exc:  # e.g. two files for one table: said, never guessed
            logger.error("export %s: %s", folder, exc)
            result.refused.append((folder, str(exc)))
            continue
        if export is None:
            logger.info("export %s is still being written; the next run takes it", folder)
            result.waiting.append(folder)
            continue
        seen = record.get(export.digest)
        if seen is not None:
            result.seen += 1
            if "refused" in seen:
                result.still_refused.append((folder, seen["refused"]))
                logger.warning(
                    "export %s was refused (%s); it is taken again once its files change",
                    folder,
                    seen["refused"],
                )
            continue
        ready.append(export)
    for export in sorted(ready, key=lambda e: (e.written_at, str(e.folder))):
        try:
            # Unrecorded: this step records the look (a refusal alerts once, as an export).
            published = publish_export.__wrapped__(  # type: ignore[attr-defined]
                export.folder, settings, now=now, as_of=export.written_at
            )
        except BadInputError as exc:
            logger.error("export %s refused: %s", export.folder, exc)
            record.remember(export, refused=str(exc))
            result.refused.append((export.folder, str(exc)))
            continue
        record.remember(export, batch_id=published.batch_id)
        result.published.append((export, published))
    if not result.published and not result.refused:
        logger.info("no new export in %s", directory)
    return result


__all__ += ["LandingError", "outbox_folders"]
