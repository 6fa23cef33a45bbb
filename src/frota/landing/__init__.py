"""The landing area between source and server: a folder, an rclone remote or an fsspec URL.

`open_landing(url)` picks the backend from the URL:

- `rclone:REMOTE:path`  -> the real `rclone` binary (Google Drive, OneDrive, S3, SFTP…)
- `<protocol>://…`      -> fsspec (`s3://`, `gs://`, `sftp://`, `ftp://`, `memory://`…)
- anything else         -> a local or shared folder (`file://` accepted)

`discover` tells which batches are complete: the loader acts on them, `frota status` shows
them.
"""

from __future__ import annotations

from pathlib import Path

from frota.landing.base import BATCHES_DIR, Landing, RemoteFile

__all__ = ["BATCHES_DIR", "Landing", "RemoteFile", "open_landing"]


def open_landing(url: str | Path) -> Landing:
    """The landing backend for a URL or path."""
    text = str(url)
    if text.startswith("rclone:"):
        from frota.landing.rclone import RcloneLanding

        return RcloneLanding(text[len("rclone:") :])
    if text.startswith("file://"):
        text = text[len("file://") :]
    elif "://" in text:
        from frota.landing.remote import FsspecLanding

        return FsspecLanding(text)
    from frota.landing.folder import FolderLanding

    return FolderLanding(Path(text))
