"""The landing backends on real parts: a folder, the rclone binary on a local remote, fsspec over
FTP (pyftpdlib on 127.0.0.1) and memory://. One conformance suite runs on all of them."""

from __future__ import annotations

import json
import posixpath
import shutil
import socket
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from ci import IN_CI, missing

from frota.errors import ConfigError, LandingError
from frota.landing import Landing, RemoteFile, open_landing
from frota.landing.folder import FolderLanding
from frota.landing.rclone import RcloneLanding, _parse_lsjson
from frota.landing.remote import FsspecLanding
from frota.redact import mask_url, redact

needs_rclone = pytest.mark.skipif(
    shutil.which("rclone") is None and not IN_CI, reason="rclone not installed"
)
# pyftpdlib 2 still builds on asyncore/asynchat, deprecated since Python 3.12.
pytestmark = pytest.mark.filterwarnings("ignore:The asyn.* module is deprecated:DeprecationWarning")
MANIFEST = '{"source": "oficina São João", "nota": "manutenção, açúcar, ñ, €"}\n'


@pytest.fixture
def rclone_remote(monkeypatch: pytest.MonkeyPatch) -> str:
    """A remote named `land` of rclone's local backend, configured only by environment."""
    monkeypatch.setenv("RCLONE_CONFIG_LAND_TYPE", "local")
    return "land"


def _folder(tmp_path: Path, request: pytest.FixtureRequest) -> Landing:
    return FolderLanding(tmp_path / "landing")


def _rclone(tmp_path: Path, request: pytest.FixtureRequest) -> Landing:
    if shutil.which("rclone") is None:
        missing("the rclone binary (apt-get install rclone)")
    remote = request.getfixturevalue("rclone_remote")
    return RcloneLanding(f"{remote}:{(tmp_path / 'landing').as_posix()}", timeout=60)


def _ftp(tmp_path: Path, request: pytest.FixtureRequest) -> Landing:
    url, _ = request.getfixturevalue("ftp_server")
    return FsspecLanding(f"{url}/{uuid.uuid4().hex}/landing")


def _memory(tmp_path: Path, request: pytest.FixtureRequest) -> Landing:
    return FsspecLanding(f"memory://frota-{uuid.uuid4().hex}/landing")


BACKENDS: dict[str, Callable[[Path, pytest.FixtureRequest], Landing]] = {
    "folder": _folder,
    "rclone-local": _rclone,
    "fsspec-ftp": _ftp,
    "fsspec-memory": _memory,
}


@pytest.fixture(params=list(BACKENDS))
def landing(request: pytest.FixtureRequest, tmp_path: Path) -> Landing:
    return BACKENDS[request.param](tmp_path, request)


@pytest.fixture
def payload(tmp_path: Path) -> Path:
    """A file whose bytes are easy to corrupt: NUL, CR/LF, high bytes, over one 64 KiB block."""
    path = tmp_path / "payload.bin"
    path.write_bytes(bytes(range(256)) * 300 + b"placa,custo\r\nABC1D23,10.50\n")
    return path


# --- conformance ------------------------------------------------------------------------------


def _make_root(landing: Landing) -> None:
    """Create the landing area's root folder (what an operator or a first publish does)."""
    if isinstance(landing, FolderLanding):
        landing.root.mkdir(parents=True)
    elif isinstance(landing, RcloneLanding):
        Path(landing.spec.split(":", 1)[1]).mkdir(parents=True)
    else:
        assert isinstance(landing, FsspecLanding)
        landing.fs.makedirs(landing.root, exist_ok=True)


def test_empty_landing_lists_nothing(landing: Landing) -> None:
    _make_root(landing)
    assert landing.list_batch_ids() == []
    assert landing.list_files("20250101T000000Z-src-00000000") == []


def test_a_landing_area_that_does_not_exist_is_an_error(landing: Landing, payload: Path) -> None:
    """A typo or an unmounted share must not look like "nothing new" (issue 13)."""
    with pytest.raises(LandingError) as missing_root:
        landing.list_batch_ids()
    assert f"the landing area {landing.display} does not exist" in str(missing_root.value)
    assert landing.list_batch_ids(missing_ok=True) == []  # the publisher's view
    landing.upload(payload, "20250101T000000Z-src-0badcafe", "f.bin")  # publishing creates it
    assert landing.list_batch_ids() == ["20250101T000000Z-src-0badcafe"]


def test_round_trip(landing: Landing, payload: Path, tmp_path: Path) -> None:
    batch = "20250101T000000Z-src-0badcafe"
    manifest = tmp_path / "_manifest.json"
    manifest.write_text(MANIFEST, encoding="utf-8")
    landing.upload(payload, batch, "veiculos.csv")
    landing.upload(manifest, batch, "_manifest.json")

    assert landing.list_batch_ids() == [batch]
    files = sorted(landing.list_files(batch), key=lambda f: f.name)
    assert files == [
        RemoteFile("_manifest.json", manifest.stat().st_size),
        RemoteFile("veiculos.csv", payload.stat().st_size),
    ]
    assert landing.read_text(batch, "_manifest.json") == MANIFEST
    assert json.loads(landing.read_text(batch, "_manifest.json"))["source"] == "oficina São João"
    dest = tmp_path / "down" / "veiculos.csv"
    dest.parent.mkdir()
    landing.download(batch, "veiculos.csv", dest)
    assert dest.read_bytes() == payload.read_bytes()


def test_upload_never_overwrites(landing: Landing, payload: Path, tmp_path: Path) -> None:
    batch = "20250101T000000Z-src-11111111"
    landing.upload(payload, batch, "veiculos.csv")
    other = tmp_path / "other.csv"
    other.write_bytes(b"different content\n")
    with pytest.raises(LandingError, match="already exists"):
        landing.upload(other, batch, "veiculos.csv")
    dest = tmp_path / "check.csv"
    landing.download(batch, "veiculos.csv", dest)
    assert dest.read_bytes() == payload.read_bytes()


def _reports(landing: Landing) -> dict[str, bytes]:
    """What `reports/` holds, read behind the backend's back."""
    if isinstance(landing, FolderLanding):
        folder = landing.root / "reports"
    elif isinstance(landing, RcloneLanding):
        folder = Path(landing.display.split(":", 2)[2]) / "reports"  # rclone:REMOTE:path
    else:
        assert isinstance(landing, FsspecLanding)
        base = landing._path("reports")
        landing.fs.invalidate_cache(base)
        names = [posixpath.basename(p) for p in landing.fs.ls(base, False)]
        return {n: landing.fs.cat_file(posixpath.join(base, n)) for n in names}
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_report_replaces_the_last_one(landing: Landing, payload: Path, tmp_path: Path) -> None:
    """Unlike a batch, the report in reports/ is replaced: the latest one wins, whole."""
    newer = tmp_path / "relatorio.html"
    newer.write_bytes("<p>relatório de março</p>\n".encode())
    assert landing.put_report(payload, "relatorio.html").endswith("reports/relatorio.html")
    assert _reports(landing) == {"relatorio.html": payload.read_bytes()}
    landing.put_report(newer, "relatorio.html")
    assert _reports(landing) == {"relatorio.html": newer.read_bytes()}  # no .part left over
    assert landing.list_batch_ids() == []  # reports/ is not a batch


def test_several_batches_listed(landing: Landing, payload: Path) -> None:
    ids = [f"2025010{i}T000000Z-src-0000000{i}" for i in range(1, 4)]
    for batch in ids:
        landing.upload(payload, batch, "manutencoes.csv")
    assert sorted(landing.list_batch_ids()) == ids


def test_delete_batch_removes_one_folder_and_is_idempotent(
    landing: Landing, payload: Path, tmp_path: Path
) -> None:
    manifest = tmp_path / "_manifest.json"
    manifest.write_text(MANIFEST, encoding="utf-8")
    gone, kept = "20250101T000000Z-src-22222222", "20250102T000000Z-src-33333333"
    for batch in (gone, kept):
        landing.upload(payload, batch, "veiculos.csv")
        landing.upload(manifest, batch, "_manifest.json")
    landing.delete_batch(gone)
    assert landing.list_batch_ids() == [kept]
    assert landing.list_files(gone) == []
    assert len(landing.list_files(kept)) == 2
    landing.delete_batch(gone)  # already gone: nothing to do, no error
    assert landing.list_batch_ids() == [kept]


@pytest.mark.parametrize("kind", ["rclone-local", "fsspec-ftp", "fsspec-memory"])
def test_missing_file_is_a_landing_error(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    landing = BACKENDS[kind](tmp_path, request)
    with pytest.raises(LandingError):
        landing.read_text("20250101T000000Z-src-22222222", "_manifest.json")
    with pytest.raises(LandingError):
        landing.download("20250101T000000Z-src-22222222", "veiculos.csv", tmp_path / "x.csv")


# --- open_landing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("data/landing", FolderLanding),
        ("file:///srv/frota/landing", FolderLanding),
        pytest.param("rclone:land:frota/landing", RcloneLanding, marks=needs_rclone),
        ("memory://frota/landing", FsspecLanding),
    ],
)
def test_open_landing_picks_backend(url: str, backend: type, rclone_remote: str) -> None:
    assert isinstance(open_landing(url), backend)


def test_open_landing_ftp_url(ftp_server: tuple[str, Path]) -> None:
    landing = open_landing(f"{ftp_server[0]}/x")
    assert isinstance(landing, FsspecLanding)
    password = urlsplit(ftp_server[0]).password
    assert password and password not in landing.display and str(landing) == landing.display


# --- rclone specifics -------------------------------------------------------------------------


def test_lsjson_keeps_duplicate_names() -> None:
    # Captured from `rclone lsjson --files-only` on a Google Drive folder holding two
    # files named veiculos.csv (Drive allows it).
    captured = """[
{"Path":"veiculos.csv","Name":"veiculos.csv","Size":2048,"MimeType":"text/csv","IsDir":false,
 "ID":"1AbC"},
{"Path":"veiculos.csv","Name":"veiculos.csv","Size":4096,"MimeType":"text/csv","IsDir":false,
 "ID":"1XyZ"},
{"Path":"_manifest.json","Name":"_manifest.json","Size":512,"IsDir":false},
{"Path":"sub","Name":"sub","Size":-1,"IsDir":true}
]"""
    assert _parse_lsjson(captured) == [
        RemoteFile("veiculos.csv", 2048),
        RemoteFile("veiculos.csv", 4096),
        RemoteFile("_manifest.json", 512),
    ]
    assert _parse_lsjson("") == []


def test_rclone_missing_binary_hints_install(tmp_path: Path) -> None:
    with pytest.raises(LandingError) as err:
        RcloneLanding("land:x", rclone_binary=tmp_path / "no-such-rclone")
    assert "apt install rclone" in str(err.value) and "winget install Rclone.Rclone" in str(
        err.value
    )


@needs_rclone
def test_rclone_config_file_from_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, payload: Path
) -> None:
    conf = tmp_path / "rclone.conf"
    conf.write_text("[fromfile]\ntype = local\n", encoding="utf-8")
    monkeypatch.setenv("RCLONE_CONFIG", str(conf))
    landing = RcloneLanding(f"fromfile:{(tmp_path / 'l').as_posix()}")
    landing.upload(payload, "b1", "veiculos.csv")
    assert landing.list_files("b1") == [RemoteFile("veiculos.csv", payload.stat().st_size)]


@needs_rclone
def test_rclone_unknown_remote_says_what_next(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RCLONE_CONFIG", str(tmp_path / "empty.conf"))
    with pytest.raises(LandingError) as err:
        RcloneLanding("nosuchremote:frota").read_text("b1", "_manifest.json")
    assert "nosuchremote" in err.value.message and "rclone config" in (err.value.hint or "")


@needs_rclone
def test_rclone_errors_never_show_secrets(tmp_path: Path) -> None:
    # A connection-string remote with an inline password: rclone echoes the spec on failure.
    spec = ":sftp,host=127.0.0.1,port=1,user=frota,pass=hunter2-secret:/landing"
    landing = RcloneLanding(spec, timeout=30)
    assert "hunter2" not in landing.display
    with pytest.raises(LandingError) as err:
        landing.upload(Path(__file__), "b1", "x.py")
    assert "hunter2" not in str(err.value) and "pass=***" in str(err.value)


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script stands in for rclone")
def test_rclone_hung_call_times_out(tmp_path: Path) -> None:
    hung = tmp_path / "rclone"
    hung.write_text("#!/bin/sh\nexec sleep 30\n", encoding="utf-8")
    hung.chmod(0o755)
    landing = RcloneLanding("land:x", rclone_binary=hung, timeout=0.5)
    with pytest.raises(LandingError, match="timed out after 0.5 s"):
        landing.list_batch_ids()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (":sftp,host=h,pass=abc123:/x", "abc123"),
        ('token = {"access_token":"ya29.a0AfB","expiry":"2025"}', "ya29"),
        ('oauth2: "refresh_token": "1//0gRefresh"', "1//0gRefresh"),
        ("secret_access_key=AKIAsecret password='p w'", "AKIAsecret"),
        ("client_secret=GOCSPX-xyz&x=1", "GOCSPX"),
    ],
)
def test_redact_secrets(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_redact_keeps_plain_specs() -> None:
    assert redact("gdrive:frota/landing") == "gdrive:frota/landing"


# --- fsspec specifics -------------------------------------------------------------------------


def test_fsspec_display_masks_password() -> None:
    assert mask_url("ftp://ana:Pa55@host:21/landing") == "ftp://ana:***@host:21/landing"
    assert mask_url("sftp://host/landing") == "sftp://host/landing"
    assert "t0kval" not in mask_url("webdav://host/x?token=t0kval")


def test_fsspec_wrong_password_not_echoed(ftp_server: tuple[str, Path]) -> None:
    url = ftp_server[0].replace(f":{urlsplit(ftp_server[0]).password}@", ":wrong-Pa55word@")
    with pytest.raises(LandingError) as err:
        FsspecLanding(f"{url}/landing")
    assert "wrong-Pa55word" not in str(err.value) and "***" in str(err.value)


def test_fsspec_unreachable_server_not_echoed() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(LandingError) as err:
        FsspecLanding(f"ftp://ana:Top-Secret1@127.0.0.1:{port}/landing")
    assert "Top-Secret1" not in str(err.value)


def test_fsspec_ftp_upload_leaves_no_temp_file(ftp_server: tuple[str, Path], payload: Path) -> None:
    url, home = ftp_server
    folder = uuid.uuid4().hex
    FsspecLanding(f"{url}/{folder}").upload(payload, "b1", "veiculos.csv")
    assert sorted(p.name for p in (home / folder / "batches" / "b1").iterdir()) == ["veiculos.csv"]


@pytest.mark.parametrize(
    ("url", "package"),
    [("s3://bucket/x", "s3fs"), ("gs://b/x", "gcsfs"), ("webdav://h/x", "webdav4")],
)
def test_fsspec_missing_package_names_it(url: str, package: str) -> None:
    pytest.importorskip("fsspec")
    try:
        __import__(package)
        pytest.skip(f"{package} is installed")
    except ImportError:
        pass
    with pytest.raises(ConfigError) as err:
        FsspecLanding(url)
    assert err.value.hint == f"pip install {package}"


def test_fsspec_unknown_protocol_is_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown landing URL protocol"):
        FsspecLanding("nosuchproto://x")
