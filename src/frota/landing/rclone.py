"""A landing area on any rclone remote (Google Drive, OneDrive, S3, SFTP…): `rclone:REMOTE:path`.

Drives the real `rclone` binary with argument lists (never a shell), so rclone's own config,
`RCLONE_CONFIG`, `RCLONE_CONFIG_PASS` and `RCLONE_CONFIG_<NAME>_<OPTION>` work as usual.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from frota.batch import MANIFEST_NAME
from frota.errors import ConfigError, LandingError
from frota.i18n import N_, _
from frota.landing.base import BATCHES_DIR, REPORTS_DIR, Landing, RemoteFile
from frota.redact import redact

DEFAULT_TIMEOUT = 300.0
INSTALL_HINT = N_(
    "install rclone (Debian/Ubuntu: `apt install rclone`; Windows: `winget install Rclone.Rclone`)"
    " or pass the path of the rclone binary"
)
# rclone exit codes 3 and 4: directory / file not found.
_NOT_FOUND = (3, 4)
_LOG_PREFIX = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")


def _parse_lsjson(text: str) -> list[RemoteFile]:
    """Files of an `rclone lsjson` answer; same-name entries are kept (Drive allows them)."""
    return [
        RemoteFile(item["Name"], int(item["Size"]))
        for item in json.loads(text or "[]")
        if not item.get("IsDir")
    ]


class RcloneLanding(Landing):
    """`<REMOTE:path>/batches/<batch_id>/<file>` through the `rclone` command."""

    def __init__(
        self,
        spec: str,
        *,
        rclone_binary: str | Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not spec.strip():
            raise ConfigError(_("empty rclone landing spec"), hint=_("use rclone:REMOTE:path"))
        self.spec = spec
        self.timeout = timeout
        self.display = f"rclone:{redact(spec)}"
        found = shutil.which(str(rclone_binary or "rclone"))
        if found is None:
            raise LandingError(
                _("rclone binary not found: {binary}").format(binary=rclone_binary or "rclone"),
                hint=_(INSTALL_HINT),
            )
        self.binary = found

    def _path(self, *parts: str) -> str:
        # "remote:" is the remote's root; "remote:dir" and local paths take a slash.
        base = self.spec if self.spec.endswith(":") else self.spec.rstrip("/") + "/"
        return base + "/".join(parts)

    def _run(self, *args: str, missing_ok: bool = False) -> subprocess.CompletedProcess[bytes]:
        # --ask-password=false: an encrypted config without RCLONE_CONFIG_PASS fails instead of
        # waiting forever for a prompt nobody sees.
        cmd = [self.binary, "--ask-password=false", "-q", *args]
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise LandingError(
                _("rclone {command} on {landing} timed out after {seconds} s").format(
                    command=args[0], landing=self.display, seconds=f"{self.timeout:g}"
                ),
                hint=_("check the network, or raise the timeout"),
            ) from None
        except OSError as exc:
            raise LandingError(
                _("cannot run {binary}: {strerror}").format(
                    binary=self.binary, strerror=exc.strerror
                ),
                hint=_(INSTALL_HINT),
            ) from None
        if done.returncode and not (missing_ok and done.returncode in _NOT_FOUND):
            where = next((a for a in args if a.startswith(self.spec)), self.spec)
            raise LandingError(
                _("rclone {command} rclone:{where} failed (exit {code}): {error}").format(
                    command=args[0],
                    where=redact(where),
                    code=done.returncode,
                    error=_tail(done.stderr),
                ),
                hint=_hint_for(done.stderr),
            )
        return done

    def _stat(self, *parts: str) -> RemoteFile | None:
        done = self._run("lsjson", "--stat", "--no-mimetype", self._path(*parts), missing_ok=True)
        if done.returncode:
            return None
        item = json.loads(done.stdout)
        return None if item.get("IsDir") else RemoteFile(item["Name"], int(item["Size"]))

    def list_batch_ids(self, *, missing_ok: bool = False) -> list[str]:
        done = self._run(
            "lsjson",
            "--dirs-only",
            "--no-modtime",
            "--no-mimetype",
            self._path(BATCHES_DIR),
            missing_ok=True,
        )
        if done.returncode:
            if not (missing_ok or self._root_exists()):
                raise self.missing()
            return []  # nothing published yet
        # Drive can hold two folders with one name; rclone reaches only one of them by path.
        return list(dict.fromkeys(item["Name"] for item in json.loads(done.stdout or b"[]")))

    def _root_exists(self) -> bool:
        if self.spec.endswith(":"):
            return True  # a remote's root always exists
        return self._run("lsjson", "--stat", self.spec, missing_ok=True).returncode == 0

    def list_files(self, batch_id: str) -> list[RemoteFile]:
        done = self._run(
            "lsjson",
            "--files-only",
            "--no-modtime",
            "--no-mimetype",
            self._path(BATCHES_DIR, batch_id),
            missing_ok=True,
        )
        return [] if done.returncode else _parse_lsjson(done.stdout.decode("utf-8"))

    def read_text(self, batch_id: str, name: str) -> str:
        return self._run("cat", self._path(BATCHES_DIR, batch_id, name)).stdout.decode("utf-8")

    def download(self, batch_id: str, name: str, dest: Path) -> None:
        # An absolute path, so that a local name with a colon is never read as a remote.
        self._run("copyto", self._path(BATCHES_DIR, batch_id, name), str(Path(dest).resolve()))

    def upload(self, source: Path, batch_id: str, name: str) -> None:
        target = f"{self.display}/{BATCHES_DIR}/{batch_id}/{name}"
        if self._stat(BATCHES_DIR, batch_id, name) is not None:
            raise LandingError(
                _("{target} already exists; batches are never overwritten").format(target=target)
            )
        size = Path(source).stat().st_size
        # --ignore-existing closes most of the race with another writer: rclone then skips.
        self._run(
            "copyto",
            "--ignore-existing",
            str(Path(source).resolve()),
            self._path(BATCHES_DIR, batch_id, name),
        )
        arrived = self._stat(BATCHES_DIR, batch_id, name)
        if arrived is None or arrived.size != size:
            got = "nothing" if arrived is None else f"{arrived.size} bytes"
            raise LandingError(
                _("upload of {target} incomplete: sent {size} bytes, found {got}").format(
                    target=target, size=size, got=got
                )
            )

    def delete_batch(self, batch_id: str) -> None:
        if self._stat(BATCHES_DIR, batch_id, MANIFEST_NAME) is not None:
            self._run("deletefile", self._path(BATCHES_DIR, batch_id, MANIFEST_NAME))
        self._run("purge", self._path(BATCHES_DIR, batch_id), missing_ok=True)

    def put_report(self, source: Path, name: str) -> str:
        target = f"{self.display}/{REPORTS_DIR}/{name}"
        size = Path(source).stat().st_size
        # copyto replaces the file; remotes such as Drive then show the new version.
        self._run("copyto", str(Path(source).resolve()), self._path(REPORTS_DIR, name))
        arrived = self._stat(REPORTS_DIR, name)
        if arrived is None or arrived.size != size:
            got = "nothing" if arrived is None else f"{arrived.size} bytes"
            raise LandingError(
                _("upload of {target} incomplete: sent {size} bytes, found {got}").format(
                    target=target, size=size, got=got
                )
            )
        return target


def _tail(stderr: bytes, lines: int = 2) -> str:
    text = stderr.decode("utf-8", "replace").strip().splitlines()[-lines:]
    # Drop rclone's "2025/01/31 12:00:00 " prefix: the time is noise in an error message.
    text = [_LOG_PREFIX.sub("", line) for line in text]
    return redact(" | ".join(text)) or "no message"


def _hint_for(stderr: bytes) -> str | None:
    text = stderr.decode("utf-8", "replace")
    if "RCLONE_CONFIG_PASS" in text or "decrypt" in text:
        return _("the rclone config is encrypted: set RCLONE_CONFIG_PASS in the environment")
    if "didn't find section in config file" in text:
        return _("run `rclone config` to create the remote, or set RCLONE_CONFIG to its file")
    if "token" in text.lower() and ("expired" in text or "invalid_grant" in text):
        return _("the remote's token is no longer valid: run `rclone config reconnect REMOTE:`")
    return None
