"""Setting the four machines up the way docs/deployment.md tells a person to ("three
machines"): the drive's WebDAV share, the server's MariaDB with TLS and least-privilege users,
an rclone remote with an obscured password on the source and the server, a frota.toml and a
secrets file (mode 600) on each frota machine. The virtualenvs are already built by
scripts/three-hosts.sh (one wheel, each role with its own extras)."""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from .net import DRIVE_FROM_SERVER, DRIVE_FROM_SOURCE, HOSTS, SERVER_IP, Host, Network, Transcript
from .servers import (
    MARIADB_PORT,
    PROXY_PORT,
    WEBDAV_PORT,
    MariaDB,
    Service,
    make_tls,
    start_proxy,
    start_webdav,
)
from .stores import OperationalDb

DB_NAME = "logistica_fonte"
LANDING = "rclone:drive:frota"
SOURCE_NAME = "oficina-sp"
WEBDAV_USER = "frota"
VEHICLES = 60
# rclone's own timeouts, shortened so that a dead link fails a run in seconds rather than
# minutes (the defaults suit real machines).
RCLONE_FAST_FAIL = {
    "RCLONE_CONTIMEOUT": "5s",
    "RCLONE_TIMEOUT": "5s",
    "RCLONE_RETRIES": "1",
    "RCLONE_LOW_LEVEL_RETRIES": "2",
}
DB_DRIVERS = ("pymysql", "MySQLdb", "mysql", "mariadb", "psycopg", "psycopg2", "asyncpg")
WAREHOUSE = ("dbt", "duckdb")  # the frota[warehouse] extra: the analytics machine's only
_NONE_OF = (
    "import importlib, sys\n"
    "found = []\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        importlib.import_module(name)\n"
    "        found.append(name)\n"
    "    except ImportError:\n"
    "        pass\n"
    "print('importable:', found)\n"
    "sys.exit(1 if found else 0)\n"
)


def db_url(user: str, port: int = MARIADB_PORT) -> str:
    return f"mysql+pymysql://{user}@{SERVER_IP}:{port}/{DB_NAME}"


@dataclass
class Site:
    """The four machines and what runs on them."""

    work: Path
    net: Network
    hosts: dict[str, Host]
    passwords: dict[str, str]
    mariadb: MariaDB
    webdav: Service
    proxy: Service

    @property
    def source(self) -> Host:
        return self.hosts["source"]

    @property
    def server(self) -> Host:
        return self.hosts["server"]

    @property
    def analytics(self) -> Host:
        return self.hosts["analytics"]

    @property
    def landing_root(self) -> Path:
        return self.hosts["drive"].home / "share" / "frota"

    @property
    def db(self) -> OperationalDb:
        return OperationalDb(self.server.ns, self.mariadb.socket, DB_NAME)

    def stop(self) -> None:
        for service in (self.proxy, self.webdav):
            service.stop()
        self.mariadb.stop()


def _write_private(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def rclone_remote(host: Host, url: str, password: str) -> None:
    """`rclone config create … --obscure`: without --obscure, rclone stores a password that
    happens to look obscured (hex does) as it is, and then fails to log in."""
    host.run(
        "rclone", "config", "create", "drive", "webdav", f"url={url}", "vendor=other",
        f"user={WEBDAV_USER}", f"pass={password}", "--obscure",
        show=f"rclone config create drive webdav url={url} vendor=other user={WEBDAV_USER} "
        "pass=<WEBDAV_PASSWORD> --obscure",
    )  # fmt: skip
    conf = (host.home / ".config" / "rclone" / "rclone.conf").read_text()
    assert password not in conf, "rclone wrote the WebDAV password in clear"


def build(work: Path, prefix: str, here: Path) -> Site:
    """Namespaces, links, servers, users and configuration; returns the running site."""
    net = Network(prefix)
    net.create()
    (work / "logs").mkdir(exist_ok=True)
    transcript = Transcript(work / "logs" / "transcript.log")
    hosts = {name: Host(net, name, work / name, transcript) for name in HOSTS}
    for host in hosts.values():
        host.home.mkdir(exist_ok=True)
    passwords = {k: secrets.token_hex(12) for k in ("webdav", "admin", "loader", "analytics")}
    print("drive: a WebDAV share standing in for Google Drive")
    drive = hosts["drive"]
    (drive.home / "share" / "frota").mkdir(parents=True)
    webdav = start_webdav(drive, drive.home / "share", WEBDAV_USER, passwords["webdav"])
    drive.wait_port(DRIVE_FROM_SOURCE, WEBDAV_PORT)
    print("server: MariaDB with TLS, least-privilege users, the schema")
    mariadb = setup_database(hosts["server"], passwords)
    proxy = start_proxy(hosts["server"], SERVER_IP, here / "cutproxy.py")
    hosts["server"].wait_port(SERVER_IP, PROXY_PORT)
    print("source, server, analytics: rclone remotes and frota.toml")
    setup_source(hosts["source"], passwords)
    setup_server(hosts["server"], passwords)
    setup_analytics(hosts["analytics"], hosts["server"].home / "tls" / "ca.pem", passwords)
    init_schema(hosts["server"], passwords)
    return Site(work, net, hosts, passwords, mariadb, webdav, proxy)


def setup_database(server: Host, passwords: dict[str, str]) -> MariaDB:
    make_tls(server.home / "tls", SERVER_IP)
    mariadb = MariaDB(server, server.home / "mariadb", SERVER_IP, server.home / "tls")
    (server.home / "mariadb").mkdir()
    mariadb.install()
    mariadb.start()
    grants = server.run("frota", "db", "grants", "--dialect", "mysql").out
    for user in ("admin", "loader", "analytics"):
        grants = grants.replace(f"<{user.upper()}_PASSWORD>", passwords[user])
    # Every remote user must use TLS: the lines `frota db grants` leaves commented out.
    grants = grants.replace("-- ALTER USER", "ALTER USER")
    _write_private(server.home / "grants.sql", grants)
    server.run(
        "mariadb", "--no-defaults", f"--socket={mariadb.socket}", "-u", "root",
        "-e", "source grants.sql",
    )  # fmt: skip
    return mariadb


def setup_source(source: Host, passwords: dict[str, str]) -> None:
    source.env.update(RCLONE_FAST_FAIL)
    rclone_remote(source, f"http://{DRIVE_FROM_SOURCE}:{WEBDAV_PORT}", passwords["webdav"])
    (source.home / "frota.toml").write_text(
        f'landing = "{LANDING}"\nsource = "{SOURCE_NAME}"\nvehicles = {VEHICLES}\n'
    )
    cannot_import(source, DB_DRIVERS + WAREHOUSE)


def cannot_import(host: Host, modules: tuple[str, ...]) -> None:
    """The role's virtualenv holds none of `modules` (role-sized installs)."""
    host.run("python", "-c", _NONE_OF, *modules, show=f"python -c 'import {', '.join(modules)}'")


def setup_server(server: Host, passwords: dict[str, str]) -> None:
    cannot_import(server, WAREHOUSE)
    server.env.update(RCLONE_FAST_FAIL)
    server.env["FROTA_SECRETS_FILE"] = str(server.home / "secrets.toml")
    rclone_remote(server, f"http://{DRIVE_FROM_SERVER}:{WEBDAV_PORT}", passwords["webdav"])
    (server.home / "frota.toml").write_text(
        f'landing = "{LANDING}"\n'
        f'database = "{db_url("frota_loader")}"\n'
        f'db_ssl_ca = "{server.home / "tls" / "ca.pem"}"\n'
        "require_tls = true\n"
    )
    _write_private(server.home / "secrets.toml", f'database_password = "{passwords["loader"]}"\n')
    _write_private(
        server.home / "admin-secrets.toml", f'database_password = "{passwords["admin"]}"\n'
    )


def init_schema(server: Host, passwords: dict[str, str]) -> None:
    server.run(
        "frota", "--database", db_url("frota_admin"), "db", "init",
        env={"FROTA_SECRETS_FILE": str(server.home / "admin-secrets.toml")},
    )  # fmt: skip


def setup_analytics(analytics: Host, ca: Path, passwords: dict[str, str]) -> None:
    shutil.copy(ca, analytics.home / "ca.pem")
    analytics.env["FROTA_SECRETS_FILE"] = str(analytics.home / "secrets.toml")
    (analytics.home / "frota.toml").write_text(
        f'database = "{db_url("frota_analytics")}"\n'
        f'db_ssl_ca = "{analytics.home / "ca.pem"}"\n'
        "require_tls = true\n"
        'warehouse = "duckdb:///data/warehouse.duckdb"\n'
    )
    _write_private(
        analytics.home / "secrets.toml", f'database_password = "{passwords["analytics"]}"\n'
    )
    analytics.run("python", "-c", "import dbt.version, duckdb, pymysql")


def reachability(site: Site) -> list[str]:
    """Who can reach whom: each machine only its neighbours. Returns the problems."""
    expected = [
        ("source", DRIVE_FROM_SOURCE, WEBDAV_PORT, True),
        ("server", DRIVE_FROM_SERVER, WEBDAV_PORT, True),
        ("analytics", SERVER_IP, MARIADB_PORT, True),
        ("source", SERVER_IP, MARIADB_PORT, False),
        ("analytics", DRIVE_FROM_SERVER, WEBDAV_PORT, False),
    ]
    problems = []
    for host, address, port, reachable in expected:
        if site.hosts[host].can_connect(address, port) != reachable:
            state = "cannot" if reachable else "can"
            problems.append(f"{host} {state} reach {address}:{port}")
    return problems
