"""A landing area on any fsspec URL: `s3://`, `gs://`, `sftp://`, `ftp://`, `webdav://`, `memory://`…

fsspec and the protocol's package are imported lazily, so the default folder landing needs
neither. Credentials in the URL (`user:password@`) never reach `display` or an error message.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from frota.batch import MANIFEST_NAME
from frota.errors import ConfigError, FrotaError, LandingError
from frota.i18n import N_, _
from frota.landing.base import BATCHES_DIR, REPORTS_DIR, Landing, RemoteFile
from frota.redact import mask_url, redact

# Object stores (and memory) show a file only once its upload completes, and have no cheap
# rename: write them directly. Elsewhere (ftp, sftp, webdav, smb…) upload then rename.
_ATOMIC_PUT = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "memory"}
# Import name -> pip package, where they differ.
_PIP_NAMES = {"smbclient": "smbprotocol", "azure": "adlfs"}


class FsspecLanding(Landing):
    """`<url>/batches/<batch_id>/<file>` on an fsspec filesystem."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        self.display = mask_url(url)
        self._password = urlsplit(url).password
        try:
            import fsspec.core
        except ImportError:
            raise ConfigError(
                _("the Python package 'fsspec' is not installed"), hint=_("pip install fsspec")
            ) from None
        try:
            with self._errors(N_("cannot connect to {place}: {error}")):
                self.fs, root = fsspec.core.url_to_fs(url, **storage_options)
        except LandingError as exc:
            cause = exc.__cause__
            if isinstance(cause, ImportError):
                raise _missing_package(url, cause) from None
            if isinstance(cause, ValueError) and "Protocol not known" in str(cause):
                raise ConfigError(
                    _("unknown landing URL protocol in {display}").format(display=self.display),
                    hint=_("use rclone:REMOTE:path, a folder, or an fsspec URL"),
                ) from None
            raise
        self.root = root.rstrip("/")
        self.protocol = url.partition("://")[0].lower()

    def _path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts) if self.root else "/".join(parts)

    @contextmanager
    def _errors(self, failed: str, where: str = "") -> Iterator[None]:
        """`failed`: an N_-marked "cannot … {place}: {error}" message."""
        # fsspec backends raise unrelated exception families (OSError, ftplib, botocore,
        # paramiko…); this is the one place where they become a LandingError, scrubbed.
        try:
            yield
        except FrotaError:
            raise
        except Exception as exc:
            message = _("not found") if isinstance(exc, FileNotFoundError) else str(exc)
            message = message or type(exc).__name__
            if self._password:
                message = message.replace(self._password, "***")
            place = f"{self.display}/{where}" if where else self.display
            raise LandingError(_(failed).format(place=place, error=redact(message))) from exc

    def _ls(self, *parts: str, kind: str) -> list[dict[str, Any]]:
        path = self._path(*parts)
        # Other machines write here: a listing cached by fsspec would hide new batches.
        self.fs.invalidate_cache(path)
        try:
            with self._errors(N_("cannot list {place}: {error}"), "/".join(parts)):
                entries = self.fs.ls(path, detail=True)
        except LandingError as exc:
            if isinstance(exc.__cause__, FileNotFoundError):
                return []
            raise
        return [e for e in entries if e.get("type") == kind]

    def list_batch_ids(self, *, missing_ok: bool = False) -> list[str]:
        found = [
            posixpath.basename(e["name"].rstrip("/"))
            for e in self._ls(BATCHES_DIR, kind="directory")
        ]
        if not found and self.root and not missing_ok:
            with self._errors(N_("cannot look at {place}: {error}")):
                exists = self.fs.exists(self.root)
            if not exists:
                raise self.missing()
        return found

    def list_files(self, batch_id: str) -> list[RemoteFile]:
        return [
            RemoteFile(posixpath.basename(e["name"]), int(e.get("size") or 0))
            for e in self._ls(BATCHES_DIR, batch_id, kind="file")
        ]

    def read_text(self, batch_id: str, name: str) -> str:
        with self._errors(N_("cannot read {place}: {error}"), f"{BATCHES_DIR}/{batch_id}/{name}"):
            data = self.fs.cat_file(self._path(BATCHES_DIR, batch_id, name))
        return data.decode("utf-8")

    def download(self, batch_id: str, name: str, dest: Path) -> None:
        with self._errors(
            N_("cannot download {place}: {error}"), f"{BATCHES_DIR}/{batch_id}/{name}"
        ):
            self.fs.get_file(self._path(BATCHES_DIR, batch_id, name), str(dest))

    def upload(self, source: Path, batch_id: str, name: str) -> None:
        where = f"{BATCHES_DIR}/{batch_id}/{name}"
        folder, final = self._path(BATCHES_DIR, batch_id), self._path(BATCHES_DIR, batch_id, name)
        with self._errors(N_("cannot write {place}: {error}"), where):
            self.fs.invalidate_cache(folder)
            if self.fs.exists(final):
                raise LandingError(
                    _("{display}/{where} already exists; batches are never overwritten").format(
                        display=self.display, where=where
                    )
                )
        self._put(source, folder, name, where)

    def _put(self, source: Path, folder: str, name: str, where: str, replace: bool = False) -> None:
        """Copy `source` to `folder/name`, whole or not at all where the protocol allows;
        `replace` an existing file (else the caller has checked there is none)."""
        final = posixpath.join(folder, name)
        size = Path(source).stat().st_size
        with self._errors(N_("cannot write {place}: {error}"), where):
            self.fs.makedirs(folder, exist_ok=True)
            if self.protocol in _ATOMIC_PUT:
                self.fs.put_file(str(source), final)
            else:
                # A reader listing the folder mid-upload sees only the temporary name.
                part = posixpath.join(folder, f".{name}.{uuid.uuid4().hex[:8]}.part")
                try:
                    self.fs.put_file(str(source), part)
                    self.fs.invalidate_cache(folder)
                    if replace and self.fs.exists(final):
                        self.fs.rm_file(final)  # not every server's rename replaces
                    self.fs.mv(part, final)
                except BaseException:
                    with suppress(Exception):
                        self.fs.rm_file(part)
                    raise
            self.fs.invalidate_cache(folder)
            arrived = self.fs.size(final)
        if arrived != size:
            raise LandingError(
                _(
                    "upload of {display}/{where} incomplete: sent {size} bytes, found {arrived}"
                ).format(display=self.display, where=where, size=size, arrived=arrived)
            )

    def delete_batch(self, batch_id: str) -> None:
        folder = self._path(BATCHES_DIR, batch_id)
        with self._errors(N_("cannot remove {place}: {error}"), f"{BATCHES_DIR}/{batch_id}"):
            self.fs.invalidate_cache(folder)
            manifest = self._path(BATCHES_DIR, batch_id, MANIFEST_NAME)
            if self.fs.exists(manifest):
                self.fs.rm_file(manifest)
            if self.fs.exists(folder):
                self.fs.rm(folder, recursive=True)
            self.fs.invalidate_cache(folder)

    def put_report(self, source: Path, name: str) -> str:
        where = f"{REPORTS_DIR}/{name}"
        self._put(source, self._path(REPORTS_DIR), name, where, replace=True)
        return f"{self.display}/{where}"


def _missing_package(url: str, exc: ImportError) -> ConfigError:
    cause: BaseException | None = exc
    while cause is not None and not getattr(cause, "name", None):
        cause = cause.__cause__ or cause.__context__
    module = getattr(cause, "name", None) or "the fsspec implementation"
    package = _PIP_NAMES.get(module.split(".")[0], module.split(".")[0])
    protocol = url.partition("://")[0]
    return ConfigError(
        f"{protocol}:// landing areas need the Python package {package!r}, which is not installed",
        hint=f"pip install {package}",
    )
