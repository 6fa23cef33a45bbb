"""`frota snapshot --dvc`: versions of the snapshots in a DVC repository.

The snapshot folder is (or becomes) a git repository with DVC: the Parquet files are tracked
by DVC (`dvc add`: their content goes to DVC's cache and remote, git keeps the small `.dvc`
pointers), the manifest by git; each snapshot is a commit tagged with its batch id, pushed to
the DVC remote when one is set. `git checkout <batch id> && dvc checkout` (or `dvc pull` in a
fresh clone) restores that version, byte for byte.

Both run as the real `git` and `dvc` programs (the `frota[dvc]` extra installs `dvc`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from frota.errors import ConfigError, LocalFileError, MissingExtra
from frota.i18n import _
from frota.ops.snapshot import MANIFEST, Snapshot

REMOTE_NAME = "frota"


@dataclass(frozen=True)
class Tracked:
    """What `track` did: the git commit and tag of the snapshot, and whether it was pushed."""

    repo: Path
    commit: str
    tag: str | None
    committed: bool  # False: the same state was committed before
    pushed_to: str | None


def _dvc_bin() -> str:
    """The `dvc` next to this Python (a virtualenv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("dvc")
    if beside.exists():
        return str(beside)
    found = shutil.which("dvc")
    if found is None:
        raise MissingExtra("dvc", "dvc")
    return found


def _run(args: list[str], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise ConfigError(
            _("{program} is not installed").format(program=args[0]),
            hint=_("install git (and frota[dvc])"),
        ) from None
    if check and done.returncode != 0:
        what = " ".join(Path(a).name if i == 0 else a for i, a in enumerate(args))
        raise LocalFileError(
            _("`{command}` failed in {folder}: {error}").format(
                command=what, folder=cwd, error=(done.stderr or done.stdout).strip()[-500:]
            )
        )
    return done


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    identity: list[str] = []
    if not _run(["git", "config", "user.email"], cwd, check=False).stdout.strip():
        identity = ["-c", "user.name=frota", "-c", "user.email=frota@localhost"]
    return _run(["git", *identity, *args], cwd, check=check)


def _repo_root(folder: Path) -> Path:
    """The git repository holding `folder`, made there (with DVC) if there is none."""
    found = _run(["git", "rev-parse", "--show-toplevel"], folder, check=False)
    if found.returncode != 0:
        _git(folder, "init", "-q")
        root = folder
    else:
        root = Path(found.stdout.strip())
    if not (root / ".dvc").is_dir():
        _run([_dvc_bin(), "init", "-q"], root)
        _git(root, "add", ".dvc", ".dvcignore")
        _git(root, "commit", "-q", "-m", "DVC for frota snapshots")
    return root


def track(snapshot: Snapshot, *, remote: str | None = None) -> Tracked:
    """Commit the snapshot in its folder's DVC repository, tag it with its batch id and push
    its files to the DVC remote (`remote`, a URL or folder, becomes the default remote)."""
    folder = snapshot.out_dir.resolve()
    root = _repo_root(folder)
    dvc = _dvc_bin()
    if remote is not None:
        if "://" not in remote:  # a folder: absolute, so clones elsewhere find it too
            remote = str(Path(remote).resolve())
        _run([dvc, "remote", "add", "--force", "--default", REMOTE_NAME, remote], root)
        _git(root, "add", ".dvc/config")  # credentials go to .dvc/config.local, never here
    parquet = [f.file for f in snapshot.files]
    _run([dvc, "add", "-q", *parquet], folder)
    _git(folder, "add", MANIFEST, ".gitignore", *(f"{name}.dvc" for name in parquet))
    staged = _git(folder, "diff", "--cached", "--quiet", check=False).returncode != 0
    if staged:
        message = f"frota snapshot as of {snapshot.as_of_batch or 'the empty database'}"
        _git(folder, "commit", "-q", "-m", message)
    commit = _git(folder, "rev-parse", "HEAD").stdout.strip()
    tag = snapshot.as_of_batch
    if tag is not None:
        tagged = _git(
            folder, "rev-parse", "-q", "--verify", f"refs/tags/{tag}^{{commit}}", check=False
        )
        if tagged.returncode != 0:
            _git(folder, "tag", tag)
        elif tagged.stdout.strip() != commit:
            raise LocalFileError(
                _(
                    "tag {tag} already names another snapshot ({commit}) in {root}: the state "
                    "as of that batch changed since it was taken"
                ).format(tag=tag, commit=tagged.stdout.strip()[:12], root=root),
                hint=_(
                    "compare them (git diff {tag} -- {name}); delete the tag (git "
                    "tag -d {tag}) to record this one instead"
                ).format(tag=tag, name=folder.name),
            )
    pushed = None
    default = _run([dvc, "remote", "default"], root, check=False).stdout.strip()
    if default:
        _run([dvc, "push", "-q", *(f"{name}.dvc" for name in parquet)], folder)
        pushed = default
    return Tracked(root, commit, tag, staged, pushed)
