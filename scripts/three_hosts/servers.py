"""The long-running parts the script starts and stops: a test CA, the server's MariaDB (own
datadir, TLS, bound to the server's address), the drive's WebDAV server (rclone), and the
TCP proxy that cuts the loader's database connection."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from .net import CommandFailed, Host

MARIADB_PORT = 3306
PROXY_PORT = 3307
WEBDAV_PORT = 8080


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)


def make_tls(folder: Path, server_ip: str) -> None:
    """ca.pem, and server.pem/server.key for `server_ip`, signed by it."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=frota three-hosts test CA",
    )  # fmt: skip
    _openssl(
        folder, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", f"/CN={server_ip}",
    )  # fmt: skip
    (folder / "server.ext").write_text(f"subjectAltName=IP:{server_ip}\n")
    _openssl(
        folder, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "server.ext",
    )  # fmt: skip


class MariaDB:
    """The data server's own MariaDB instance."""

    def __init__(self, host: Host, folder: Path, address: str, tls: Path) -> None:
        self.host, self.folder, self.address, self.tls = host, folder, address, tls
        self.socket = folder / "mysqld.sock"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def install(self) -> None:
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={self.folder / 'data'}",
             "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, capture_output=True,
        )  # fmt: skip

    def start(self) -> None:
        self.starts += 1
        self.proc = self.host.spawn(
            "mariadbd", "--no-defaults", f"--datadir={self.folder / 'data'}", "--user=root",
            f"--bind-address={self.address}", f"--port={MARIADB_PORT}",
            f"--socket={self.socket}", f"--pid-file={self.folder / 'mariadbd.pid'}",
            "--skip-log-bin", "--innodb-buffer-pool-size=32M", "--skip-name-resolve",
            f"--ssl-ca={self.tls / 'ca.pem'}", f"--ssl-cert={self.tls / 'server.pem'}",
            f"--ssl-key={self.tls / 'server.key'}",
            log=self.folder / "mariadbd.log",
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.folder / "mariadbd.log").read_text(errors="replace")
                raise CommandFailed(f"MariaDB did not start:\n{log[-2000:]}")
            time.sleep(0.2)

    def answers(self) -> bool:
        done = subprocess.run(
            ["mariadb-admin", "--no-defaults", f"--socket={self.socket}", "-u", "root", "ping"],
            capture_output=True,
        )
        return done.returncode == 0

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # mariadbd shuts down cleanly on SIGTERM
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()


class Service:
    """A background process on a host (the WebDAV server, the cutting proxy)."""

    def __init__(self, host: Host, log: Path, *command: str, env: dict[str, str]) -> None:
        self.log = log
        self.proc = host.spawn(*command, log=log, env=env)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_webdav(drive: Host, folder: Path, user: str, password: str) -> Service:
    """`rclone serve webdav` on every address of the drive host (the password from the
    environment, never on the command line)."""
    service = Service(
        drive, drive.home / "webdav.log",
        "rclone", "serve", "webdav", str(folder), "--addr", f":{WEBDAV_PORT}",
        env={"RCLONE_USER": user, "RCLONE_PASS": password},
    )  # fmt: skip
    return service


def start_proxy(server: Host, address: str, script: Path) -> Service:
    return Service(
        server, server.home / "cutproxy.log",
        "python3", str(script), f"{address}:{PROXY_PORT}", f"{address}:{MARIADB_PORT}",
        env={"PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
