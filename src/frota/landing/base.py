"""What every landing-area backend provides: list, read and write the files of batches.

Backends only move bytes; the batch protocol (manifest last, checksums, completeness)
lives in `frota.batch`, `frota.publish`, `frota.landing.discover` and `frota.load`, the same
for every backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from frota.errors import LandingError

BATCHES_DIR = "batches"
REPORTS_DIR = "reports"  # the latest fleet report, for the source PC and the shared folder


@dataclass(frozen=True)
class RemoteFile:
    """A file in a batch folder, as the backend lists it."""

    name: str
    size: int


class Landing(ABC):
    """A landing area holding `batches/<batch_id>/<file>`."""

    #: How to show this landing area to people (never contains secrets).
    display: str

    @abstractmethod
    def list_batch_ids(self, *, missing_ok: bool = False) -> list[str]:
        """Names of the folders under `batches/` (not filtered, not sorted). A landing area
        whose root does not exist is a LandingError (`missing()`), unless `missing_ok` (the
        publisher, about to create it)."""

    @abstractmethod
    def list_files(self, batch_id: str) -> list[RemoteFile]:
        """Files in one batch folder; a name can appear twice where the backend allows it
        (Google Drive does), and the caller must treat that as an error."""

    @abstractmethod
    def read_text(self, batch_id: str, name: str) -> str:
        """A small file (the manifest) as UTF-8 text."""

    @abstractmethod
    def download(self, batch_id: str, name: str, dest: Path) -> None:
        """Copy one file of a batch to a local path, streamed."""

    @abstractmethod
    def upload(self, source: Path, batch_id: str, name: str) -> None:
        """Copy a local file into a batch folder. Must not overwrite an existing file:
        raise LandingError instead. Should appear under its final name only when complete
        where the backend allows it."""

    @abstractmethod
    def delete_batch(self, batch_id: str) -> None:
        """Remove a batch folder (`frota landing prune`): its manifest first, so that a removal
        cut short leaves an incomplete batch, never a complete one with files missing.
        A folder that is not there is not an error."""

    @abstractmethod
    def put_report(self, source: Path, name: str) -> str:
        """Copy a local file to `reports/<name>`, replacing the one there (a report is not a
        batch: the latest wins); where it went, for people. Readers should never see half a
        file where the backend allows it."""

    def missing(self) -> LandingError:
        """The error for a landing area whose root does not exist: listing it is an error
        (a typo or an unmounted share must not look like "nothing new"); publishing creates it."""
        return LandingError(
            f"the landing area {self.display} does not exist",
            hint="check the landing setting (a typo? a share not mounted? a remote path not "
            "created?); publishing a first batch creates it",
        )

    def local_dir(self, batch_id: str) -> Path | None:
        """A local folder holding the batch's files, readable in place; None to download."""
        return None

    def __str__(self) -> str:
        return self.display
