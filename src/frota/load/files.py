"""A batch's files as the loader reads them: opened from the landing area (a remote file is
downloaded once, into a folder that goes with the batch) and checked against the manifest."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

from frota.batch import Manifest
from frota.contract.tabular import ReadStats
from frota.errors import BadInputError
from frota.i18n import _
from frota.landing import Landing

OpenFile = Callable[[str], BinaryIO]


def file_opener(landing: Landing, batch_id: str, stack: ExitStack) -> OpenFile:
    """Opens a file of the batch by name; downloads live as long as `stack`."""
    local = landing.local_dir(batch_id)
    if local is None:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="frota-batch-")))

        def open_remote(name: str) -> BinaryIO:
            target = tmp / name
            if not target.exists():
                landing.download(batch_id, name, target)
            return open(target, "rb")

        return open_remote
    return lambda name: open(local / name, "rb")


def listed(manifest: Manifest, name: str) -> bool:
    """Does the batch hold this file (either file of a batch may be absent)?"""
    return any(f.name == name for f in manifest.files)


def check_checksum(manifest: Manifest, name: str, stats: ReadStats) -> None:
    """BadInputError unless what was read is what the manifest lists (sha256 and size)."""
    entry = next(f for f in manifest.files if f.name == name)
    if stats.sha256 != entry.sha256 or stats.bytes != entry.bytes:
        raise BadInputError(
            _(
                "checksum mismatch: sha256 {sha256}… ({bytes} bytes), the manifest says "
                "{listed_sha256}… ({listed_bytes} bytes)"
            ).format(
                sha256=stats.sha256[:12],
                bytes=stats.bytes,
                listed_sha256=entry.sha256[:12],
                listed_bytes=entry.bytes,
            ),
            file=f"{manifest.batch_id}/{name}",
            hint=_("the file changed after publishing; publish the data again as a new batch"),
        )
