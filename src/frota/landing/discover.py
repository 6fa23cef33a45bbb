"""Which batches in a landing area are complete and not yet in the ledger, in the order they
apply (frota.batch.Manifest.order_key: published_at, source, sequence; not the id's hash): what
the loader acts on and what `frota status` reports (a landing-area fact both need)."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from frota.batch import MANIFEST_NAME, Manifest, format_time, is_batch_id
from frota.errors import BadInputError
from frota.landing import Landing

# frota's logger by name: observe (which configures it) imports the landing, not the reverse.
logger = logging.getLogger("frota")


@dataclass(frozen=True)
class Candidate:
    """A batch in the landing area that the ledger does not hold yet."""

    batch_id: str
    manifest: Manifest | None  # None: incomplete
    problem: str | None = None  # why it is incomplete or unusable
    rejected: BadInputError | None = None  # complete but broken: the load must refuse it
    unlisted: tuple[str, ...] = ()  # files in the folder the manifest does not list (ignored)

    @property
    def complete(self) -> bool:
        return self.manifest is not None and self.rejected is None

    @property
    def order_key(self) -> str:
        """Its place in the order batches apply in; without a manifest, its id's second."""
        if self.manifest is not None:
            return self.manifest.order_key
        stamp = datetime.strptime(self.batch_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return f"{format_time(stamp)}|{self.batch_id}"

    @property
    def age_hours(self) -> float:
        stamp = datetime.strptime(self.batch_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return (datetime.now(UTC) - stamp).total_seconds() / 3600


def inspect_batch(landing: Landing, batch_id: str) -> Candidate:
    """Is this batch complete (manifest parses; every listed file there with its size)?

    Checksums are verified later, while loading (one read of each file, not two).
    """
    files = landing.list_files(batch_id)
    names = Counter(f.name for f in files)
    if MANIFEST_NAME not in names:
        return Candidate(batch_id, None, "no manifest yet (upload in progress or interrupted)")
    where = f"{batch_id}/{MANIFEST_NAME}"
    try:
        manifest = Manifest.from_json(landing.read_text(batch_id, MANIFEST_NAME), where=where)
    except BadInputError as exc:
        return Candidate(batch_id, None, str(exc), rejected=exc)
    if manifest.batch_id != batch_id:
        err = BadInputError(
            f"manifest names batch {manifest.batch_id}, not its folder's", file=where
        )
        return Candidate(batch_id, manifest, str(err), rejected=err)
    doubled = sorted(n for n, k in names.items() if k > 1)
    if doubled:
        err = BadInputError(
            f"two files named {doubled[0]!r} in one batch folder",
            file=f"{batch_id}/{doubled[0]}",
            hint="remove the extra copy in the landing area (Google Drive allows same-name files)",
        )
        return Candidate(batch_id, manifest, str(err), rejected=err)
    sizes = {f.name: f.size for f in files}
    for entry in manifest.files:
        if entry.name not in sizes:
            return Candidate(batch_id, None, f"{entry.name} listed in the manifest is missing")
        if sizes[entry.name] != entry.bytes:
            err = BadInputError(
                f"size {sizes[entry.name]} bytes, the manifest says {entry.bytes}",
                file=f"{batch_id}/{entry.name}",
                hint="the file changed after publishing; publish the data again as a new batch",
            )
            return Candidate(batch_id, manifest, str(err), rejected=err)
    listed = {entry.name for entry in manifest.files} | {MANIFEST_NAME}
    return Candidate(batch_id, manifest, unlisted=tuple(sorted(set(sizes) - listed)))


def pending_batches(landing: Landing, loaded: set[str]) -> list[Candidate]:
    """Batches in the landing area not in `loaded`, in the order they apply."""
    ids = (b for b in landing.list_batch_ids() if is_batch_id(b) and b not in loaded)
    found = sorted((inspect_batch(landing, b) for b in ids), key=lambda c: c.order_key)
    for c in found:
        if c.unlisted:
            logger.warning(
                "batch %s: %s not in its manifest; left out (a batch holds only the files "
                "its manifest lists: publish the data again to include it)",
                c.batch_id,
                ", ".join(c.unlisted),
            )
    return found
