"""A landing area on a local or shared folder (the default: `data/landing`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from frota.batch import MANIFEST_NAME
from frota.errors import LandingError
from frota.i18n import _
from frota.landing.base import BATCHES_DIR, REPORTS_DIR, Landing, RemoteFile


class FolderLanding(Landing):
    """`<root>/batches/<batch_id>/<file>` on a filesystem path (pathlib only: runs on Windows)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.display = str(self.root)

    def _dir(self, batch_id: str) -> Path:
        return self.root / BATCHES_DIR / batch_id

    def list_batch_ids(self, *, missing_ok: bool = False) -> list[str]:
        base = self.root / BATCHES_DIR
        try:
            with os.scandir(base) as it:
                return [e.name for e in it if e.is_dir()]
        except FileNotFoundError:
            if not (missing_ok or self.root.is_dir()):
                raise self.missing() from None
            return []  # nothing published yet
        except OSError as exc:
            raise LandingError(
                _("cannot list {base}: {strerror}").format(base=base, strerror=exc.strerror)
            ) from None

    def list_files(self, batch_id: str) -> list[RemoteFile]:
        try:
            with os.scandir(self._dir(batch_id)) as it:
                return [RemoteFile(e.name, e.stat().st_size) for e in it if e.is_file()]
        except FileNotFoundError:
            return []

    def read_text(self, batch_id: str, name: str) -> str:
        return (self._dir(batch_id) / name).read_text(encoding="utf-8")

    def download(self, batch_id: str, name: str, dest: Path) -> None:
        shutil.copyfile(self._dir(batch_id) / name, dest)

    def upload(self, source: Path, batch_id: str, name: str) -> None:
        folder = self._dir(batch_id)
        final = folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if final.exists():
                raise LandingError(
                    _("{final} already exists; batches are never overwritten").format(final=final)
                )
            part = folder / f".{name}.part"
            shutil.copyfile(source, part)
            with open(part, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(part, final)
        except OSError as exc:
            raise LandingError(
                _("cannot write {final}: {strerror}").format(final=final, strerror=exc.strerror)
            ) from None

    def delete_batch(self, batch_id: str) -> None:
        folder = self._dir(batch_id)
        try:
            (folder / MANIFEST_NAME).unlink(missing_ok=True)
            shutil.rmtree(folder, ignore_errors=False)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise LandingError(
                _("cannot remove {folder}: {strerror}").format(folder=folder, strerror=exc.strerror)
            ) from None

    def put_report(self, source: Path, name: str) -> str:
        final = self.root / REPORTS_DIR / name
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            part = final.with_name(f".{name}.part")
            shutil.copyfile(source, part)
            os.replace(part, final)  # atomic: a reader sees the old report or the new one
        except OSError as exc:
            raise LandingError(
                _("cannot write {final}: {strerror}").format(final=final, strerror=exc.strerror)
            ) from None
        return str(final)

    def local_dir(self, batch_id: str) -> Path | None:
        return self._dir(batch_id)
