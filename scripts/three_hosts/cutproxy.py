"""A TCP proxy that resets every open connection on SIGUSR1: the database link dropping in
the middle of a load. Bytes pass through untouched, so TLS stays end to end.

    python3 cutproxy.py LISTEN_ADDR:PORT TARGET_ADDR:PORT

Prints `ready` once listening and `cut N` after each cut; SIGTERM stops it.
(tests/faultkit.py has an in-process cousin; this one runs alone, inside a namespace.)
"""

from __future__ import annotations

import contextlib
import signal
import socket
import struct
import sys
import threading

Pair = tuple[socket.socket, socket.socket]


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def _reset(sock: socket.socket) -> None:
    # A FIN then an RST, as from a dying peer or a middlebox. Over TLS the FIN is an EOF
    # without close_notify (SSLEOFError), which frota once took for a terminal error.
    # shutdown() also wakes the thread blocked in recv() on this socket.
    for action in (
        lambda: sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)),
        lambda: sock.shutdown(socket.SHUT_RDWR),
        sock.close,
    ):
        with contextlib.suppress(OSError):
            action()


class CutProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.pairs: set[Pair] = set()
        self.lock = threading.Lock()

    def cut(self, *_: object) -> None:
        with self.lock:
            pairs, self.pairs = list(self.pairs), set()
        for a, b in pairs:
            _reset(a)
            _reset(b)
        print(f"cut {len(pairs)}", flush=True)

    def serve(self, listener: socket.socket) -> None:
        while True:
            client, _ = listener.accept()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self.lock:
                self.pairs.add(pair)
            for src, dst in (pair, (upstream, client)):
                threading.Thread(target=self.pump, args=(src, dst, pair), daemon=True).start()

    def pump(self, src: socket.socket, dst: socket.socket, pair: Pair) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        with self.lock:
            self.pairs.discard(pair)
        _reset(src)
        _reset(dst)


def main() -> None:
    listen, target = _address(sys.argv[1]), _address(sys.argv[2])
    proxy = CutProxy(target)
    signal.signal(signal.SIGUSR1, proxy.cut)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.create_server(listen)
    print("ready", flush=True)
    proxy.serve(listener)


if __name__ == "__main__":
    main()
