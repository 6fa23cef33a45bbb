"""Tools for the fault-injection tests and the soak: fresh databases, a fixed set of batches,
an independent oracle (counts + per-table checksums), a loader subprocess that can be killed
at a named phase, and a TCP proxy that can cut connections at the worst moment."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from ci import missing

from frota.batch import Snapshot
from frota.db.engine import create_engine
from frota.db.migrate import upgrade_schema
from frota.db.schema import batches, maintenance_history, manutencoes, quarantine, veiculos
from frota.generate import generate_batch
from frota.landing import open_landing
from frota.publish import publish_dir

MYSQL_ADMIN = os.environ.get("FROTA_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test")
PG_ADMIN = os.environ.get(
    "FROTA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
T0 = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------ databases


class Databases:
    """Fresh, empty frota databases on one backend; dropped by `close()`."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend, self.tmp = backend, tmp
        self.made: list[str] = []
        self.admin = None
        if backend == "mysql":
            self.admin = sa.create_engine(MYSQL_ADMIN, isolation_level="AUTOCOMMIT")
        elif backend == "postgresql":
            self.admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")

    def new(self, schema: bool = True) -> str:
        name = f"frota_f_{secrets.token_hex(4)}"
        if self.backend == "sqlite":
            url = f"sqlite:///{self.tmp / (name + '.db')}"
        else:
            assert self.admin is not None
            quoted = f"`{name}`" if self.backend == "mysql" else f'"{name}"'
            with self.admin.connect() as conn:
                conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
            self.made.append(quoted)
            base = MYSQL_ADMIN if self.backend == "mysql" else PG_ADMIN
            url = sa.make_url(base).set(database=name).render_as_string(hide_password=False)
        if schema:
            engine = create_engine(url)
            upgrade_schema(engine)
            engine.dispose()
        return url

    def close(self) -> None:
        if self.admin is None:
            return
        with self.admin.connect() as conn:
            for quoted in self.made:
                force = " WITH (FORCE)" if self.backend == "postgresql" else ""
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted}{force}"))
        self.admin.dispose()


def require_server(backend: str) -> None:
    """Skip locally, fail in CI, when the backend's server cannot be reached."""
    if not server_up(backend):
        missing(f"the {backend} server")


def server_up(backend: str) -> bool:
    if backend == "sqlite":
        return True
    engine = sa.create_engine(MYSQL_ADMIN if backend == "mysql" else PG_ADMIN)
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


# ------------------------------------------------------------------ batches


def _lines(folder: Path, name: str, header: str, rows: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


VEIC_HEADER = "placa,tipo_veiculo,status,quilometragem_total,data_aquisicao"
MANUT_HEADER = (
    "placa_veiculo,tipo_manutencao,data_manutencao,custo,quilometragem,categoria,data_conclusao"
)


def make_batches(tmp: Path, vehicles: int = 60, days: int = 240) -> tuple[str, list[str]]:
    """A landing area with five batches exercising every load path: a generated history
    (inserts), late maintenances and bad rows (quarantine), a generated continuation
    (vehicle updates; open work orders closed: maintenance updates; re-sent rows: present),
    the late vehicle arriving (release), and a snapshot of the history's first month that
    lacks two of its work orders (retirements). Returns (landing, batch ids)."""
    landing = str(tmp / "landing")
    land = open_landing(landing)
    until = date.today() - timedelta(days=40)
    outbox = tmp / "outbox"
    first = generate_batch(outbox, seed=11, vehicles=vehicles, until=until, days=days)
    second = generate_batch(outbox, seed=11, vehicles=vehicles, until=until + timedelta(days=20))
    late = tmp / "late"
    _lines(
        late,
        "manutencoes.csv",
        MANUT_HEADER,
        [
            "ZZZ9Z99,Freios,2026-01-06,1234.56,44800,corretiva,2026-01-09",
            "ZZZ9Z99,Pneus,2026-01-07,99.90,44900,preventiva,2026-01-07",
            "ZZZ9Z99,Pneus,2026-02-30,100.00,,corretiva,",
            "ZZZ9Z99,Pneus,2026-02-03,-5.00,,corretiva,",
        ],
    )
    arrival = tmp / "arrival"
    _lines(arrival, "veiculos.csv", VEIC_HEADER, ["ZZZ9Z99,Van,ativo,45000,2021-07-15"])
    ids = []
    for n, folder in enumerate((first.out_dir, late, second.out_dir, arrival), start=1):
        ids.append(publish_dir(Path(folder), land, "fault", now=T0 + timedelta(minutes=n)).batch_id)
    lines = (first.out_dir / "manutencoes.csv").read_text(encoding="utf-8").splitlines()
    start = first.start
    month = [x for x in lines[1:] if x.split(",")[2] < (start + timedelta(days=30)).isoformat()]
    snap = tmp / "snapshot"
    _lines(snap, "manutencoes.csv", lines[0], month[2:])  # two work orders gone
    period = Snapshot(start, start + timedelta(days=29), allow_retire=True)
    ids.append(
        publish_dir(snap, land, "fault", now=T0 + timedelta(minutes=5), snapshot=period).batch_id
    )
    return landing, ids


# ------------------------------------------------------------------ the oracle

# Columns that differ between two correct loads (surrogate keys, clocks, run ids).
_VOLATILE = {"id", "loaded_at", "run_id", "released_at", "retirada_em", "registrado_em"}
_TABLES = {
    "veiculos": veiculos,
    "manutencoes": manutencoes,
    "frota_manutencoes_historico": maintenance_history,
    "frota_quarantine": quarantine,
    "frota_batches": batches,
}


def _norm(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def snapshot(url: str) -> dict[str, Counter]:
    """Every table's rows (volatile columns left out) as a multiset of normalized tuples."""
    engine = create_engine(url)
    out: dict[str, Counter] = {}
    try:
        with engine.connect() as conn:
            for name, table in _TABLES.items():
                cols = [
                    c
                    for c in table.columns
                    if c.name not in _VOLATILE
                    and not (name == "frota_quarantine" and c.name == "created_at")
                ]
                rows = conn.execute(sa.select(*cols))
                out[name] = Counter(tuple(_norm(v) for v in row) for row in rows)
    finally:
        engine.dispose()
    return out


def checksums(snap: dict[str, Counter]) -> dict[str, tuple[int, str]]:
    """(row count, sha256 of the sorted rows) per table."""
    result = {}
    for name, rows in snap.items():
        digest = hashlib.sha256()
        for row in sorted(rows.elements()):
            digest.update("\x1f".join(row).encode() + b"\x1e")
        result[name] = (sum(rows.values()), digest.hexdigest()[:16])
    return result


def diff(expected: dict[str, Counter], got: dict[str, Counter]) -> tuple[int, int]:
    """(rows lost, rows duplicated or extra) across all tables."""
    lost = sum(sum((expected[t] - got[t]).values()) for t in expected)
    extra = sum(sum((got[t] - expected[t]).values()) for t in expected)
    return lost, extra


# ------------------------------------------------------------------ loader subprocess


# Settings every loader started here gets (scripts/soak.py --mysql-local-infile sets one).
LOADER_SETTINGS: dict[str, str] = {}


def loader_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FROTA_")}
    env.update(LOADER_SETTINGS)
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_loader(url: str, landing: str, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "frota", "--database", url, "--landing", landing, "load"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass
class Kill:
    phase: str  # a faults phase, "commit" (random moment after COMMIT is issued) or "random"
    killed: bool  # False: the loader finished before it could be killed
    returncode: int


def kill_loader(
    url: str, landing: str, phase: str, nth: int, cwd: Path, rng, random_window=(0.3, 1.6)
) -> Kill:
    """Run a loader and SIGKILL it at `phase` (its nth occurrence) or at a random time."""
    marker = cwd / f"marker-{secrets.token_hex(3)}"
    extra: dict[str, str] = {}
    if phase == "commit":
        extra = {"FROTA_FAULT_PAUSE": f"before_commit@{nth}=0", "FROTA_FAULT_MARKER": str(marker)}
    elif phase != "random":
        extra = {"FROTA_FAULT_PAUSE": f"{phase}@{nth}", "FROTA_FAULT_MARKER": str(marker)}
    proc = start_loader(url, landing, loader_env(**extra), cwd)
    try:
        if phase == "random":
            deadline = time.monotonic() + rng.uniform(*random_window)
            while time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.002)
        else:
            while not marker.exists() and proc.poll() is None:
                time.sleep(0.001)
            if phase == "commit":
                time.sleep(rng.uniform(0, 0.004))  # COMMIT is on its way or being applied
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return Kill(phase, killed, proc.returncode)


def rerun(url: str, landing: str, cwd: Path, patience: float = 10.0) -> subprocess.CompletedProcess:
    """A clean loader run to completion. Right after a kill the server may not yet have ended
    the dead session (and released its lock): exit 4 is then retried for a few seconds."""
    deadline = time.monotonic() + patience
    while True:
        proc = start_loader(url, landing, loader_env(), cwd)
        out, err = proc.communicate(timeout=120)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        if proc.returncode != 4 or time.monotonic() > deadline:
            return done
        time.sleep(0.2)


# ------------------------------------------------------------------ a TCP proxy we can cut


class Proxy:
    """127.0.0.1:<port> -> 127.0.0.1:<target>. `cut()` resets every connection; `down` makes
    new connections fail (a restarting server); `arm(forward=...)` cuts the connection that
    sends next, after forwarding that packet to the server (an ambiguous COMMIT) or not."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down = False
        self.cuts = 0
        self._armed: bool | None = None  # None: not armed; else forward the packet?
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, url: str) -> str:
        return sa.make_url(url).set(port=self.port).render_as_string(hide_password=False)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                _reset(client)
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._pairs.append((client, server))
            dropping = threading.Event()
            threading.Thread(
                target=self._pump, args=(client, server, True, dropping), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(server, client, False, dropping), daemon=True
            ).start()

    def _pump(self, src, dst, upstream: bool, dropping: threading.Event) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if upstream and self._armed is not None:
                    with self._lock:
                        forward, self._armed = self._armed, None
                    if forward is not None:
                        dropping.set()  # no reply reaches the client
                        if forward:
                            dst.sendall(data)
                            time.sleep(0.3)  # let the server act on it
                        self._cut_pair(src, dst)
                        return
                if dropping.is_set():
                    continue
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._cut_pair(src, dst)

    def _cut_pair(self, a, b) -> None:
        for s in (a, b):
            _reset(s)

    def arm(self, forward: bool) -> None:
        self._armed = forward
        self.cuts += 1

    def cut(self) -> None:
        """Reset every open connection (a network failure or a server crash)."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            self._cut_pair(a, b)
        self.cuts += 1

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.listener.close()


def _reset(sock: socket.socket) -> None:
    # shutdown() first: a close() alone does not end a connection another thread is
    # blocked reading from.
    for action in (
        lambda: sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)),
        lambda: sock.shutdown(socket.SHUT_RDWR),
        sock.close,
    ):
        with contextlib.suppress(OSError):
            action()
