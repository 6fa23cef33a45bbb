"""`frota snapshot`: write the state as of a batch (frota.ops.snapshot) and, with `dvc`,
record it as a version in a DVC repository (frota.ops.dvc); a step of the run history."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from frota.config import Settings
from frota.observe.runs import recorded
from frota.ops.dvc import Tracked, track
from frota.ops.snapshot import Snapshot, write_snapshot


@dataclass(frozen=True)
class Version:
    snapshot: Snapshot
    tracked: Tracked | None  # None: not asked to track it with DVC


def _counts(v: Version) -> dict[str, int]:
    counts = {f.table: f.rows for f in v.snapshot.files}
    counts["batches"] = v.snapshot.batches
    if v.tracked is not None:
        counts["committed"] = int(v.tracked.committed)
        counts["pushed"] = int(v.tracked.pushed_to is not None)
    return counts


@recorded("snapshot", counts=_counts)
def take_snapshot(
    settings: Settings,
    out_dir: Path,
    *,
    as_of: str | None = None,
    dvc: bool = False,
    remote: str | None = None,
) -> Version:
    """The state as of `as_of` (default: the last batch) into `out_dir`; with `dvc`, committed
    and tagged in its DVC repository and pushed to its remote (`remote` sets one)."""
    snapshot = write_snapshot(settings, Path(out_dir), as_of=as_of)
    return Version(snapshot, track(snapshot, remote=remote) if dvc else None)
