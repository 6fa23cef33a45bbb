"""Network namespaces joined by point-to-point veth links, and commands run on one of them.

Addresses come from 198.18.0.0/24 (the benchmarking range); there is no default route, no
forwarding and no link to the host's own interfaces, so no packet leaves the machine. Each
link is its own /30: a host reaches only its neighbours, as on the real sites (the source
sees only the landing area, the analytics machine only the database server).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

HOSTS = ("source", "drive", "server", "analytics")


@dataclass(frozen=True)
class Link:
    """A veth pair; faults take down the client's end (its route goes with it)."""

    client: str
    peer: str
    client_ip: str
    peer_ip: str
    tag: str  # two letters for interface names (15 characters at most)


LINKS = {
    "source-drive": Link("source", "drive", "198.18.0.1", "198.18.0.2", "sd"),
    "server-drive": Link("server", "drive", "198.18.0.5", "198.18.0.6", "vd"),
    "analytics-server": Link("analytics", "server", "198.18.0.9", "198.18.0.10", "as"),
}
DRIVE_FROM_SOURCE = LINKS["source-drive"].peer_ip
DRIVE_FROM_SERVER = LINKS["server-drive"].peer_ip
SERVER_IP = LINKS["analytics-server"].peer_ip  # MariaDB listens here


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class Network:
    """The four namespaces `<prefix>-<host>` and their links."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def ns(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def dev(self, link: Link, side: str) -> str:
        return f"{self.prefix}{link.tag}{side}"

    def create(self) -> None:
        for host in HOSTS:
            ip("netns", "add", self.ns(host))
            ip("-n", self.ns(host), "link", "set", "lo", "up")
        for link in LINKS.values():
            a, b = self.dev(link, "c"), self.dev(link, "p")
            ip("link", "add", a, "type", "veth", "peer", "name", b)
            for dev, host, addr in ((a, link.client, link.client_ip), (b, link.peer, link.peer_ip)):
                ip("link", "set", dev, "netns", self.ns(host))
                ip("-n", self.ns(host), "addr", "add", f"{addr}/30", "dev", dev)
                ip("-n", self.ns(host), "link", "set", dev, "up")

    def set_link(self, name: str, up: bool) -> None:
        link = LINKS[name]
        state = "up" if up else "down"
        ip("-n", self.ns(link.client), "link", "set", self.dev(link, "c"), state)

    def destroy(self) -> None:
        """Stop whatever still runs in our namespaces, then delete them (the links go too)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 5
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.1)
        for host in HOSTS:
            subprocess.run(["ip", "netns", "del", self.ns(host)], capture_output=True)

    def pids(self) -> list[int]:
        found = []
        for host in HOSTS:
            done = subprocess.run(
                ["ip", "netns", "pids", self.ns(host)], capture_output=True, text=True
            )
            found += [int(p) for p in done.stdout.split()]
        return found


class CommandFailed(Exception):
    """A command on a host exited with an unexpected code."""


@dataclass(frozen=True)
class Result:
    shown: str  # the command as a person types it
    code: int
    out: str
    err: str
    seconds: float
    imports: frozenset[str] = frozenset()  # modules imported (with imports=True)


@dataclass
class Running:
    """A command started on a host, not yet finished."""

    proc: subprocess.Popen
    shown: str
    out: Path
    err: Path
    imports: bool
    started: float = field(default_factory=time.monotonic)


@dataclass
class Transcript:
    """Every command run on every host: one line on stdout, full output in a log file."""

    path: Path
    count: int = 0

    def started(self, host: str, shown: str) -> None:
        print(f"  [{host}] $ {shown} &")
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(f"\n[{host}] $ {shown} &\n")

    def record(self, host: str, result: Result) -> None:
        print(f"  [{host}] $ {result.shown}  -> exit {result.code} ({result.seconds:.1f}s)")
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(f"\n[{host}] $ {result.shown}\n-> exit {result.code}\n{result.out}")
            fh.write(result.err)


class Host:
    """A machine: a namespace, a home folder (its virtualenv, frota.toml, rclone config) and
    an environment of its own; nothing is inherited from the caller's environment."""

    def __init__(self, net: Network, name: str, home: Path, transcript: Transcript) -> None:
        self.net, self.name, self.home, self.transcript = net, name, home, transcript
        self.ns = net.ns(name)
        self.env: dict[str, str] = {}  # what this machine's profile would export

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": f"{self.home}/.venv/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
        }
        return env | self.env | (extra or {})

    def argv(self, command: list[str], extra: dict[str, str] | None, clock: str | None):
        env = [f"{k}={v}" for k, v in self.environment(extra).items()]
        # faketime after `env -i`, which would otherwise drop its LD_PRELOAD.
        fake = ["faketime", "-f", clock] if clock else []
        return ["ip", "netns", "exec", self.ns, "env", "-i", "-C", str(self.home), *env, *fake]

    def run(self, *command: str, expect: int | tuple[int, ...] = 0, **options) -> Result:
        """Run `command` in this host's home and wait (see `start` for the options)."""
        return self.finish(self.start(*command, **options), expect)

    def start(
        self,
        *command: str,
        env: dict[str, str] | None = None,
        clock: str | None = None,
        imports: bool = False,
        show: str | None = None,
    ) -> Running:
        """Start `command` in this host's home. `clock` shifts this process's clock
        (faketime), `imports` records the modules it imports (PYTHONPROFILEIMPORTTIME),
        `show` is how the transcript shows it (default: the command and `env`)."""
        extra = dict(env or {})
        if imports:
            extra["PYTHONPROFILEIMPORTTIME"] = "1"
        self.transcript.count += 1
        base = self.transcript.path.parent / f"{self.transcript.count:03d}-{self.name}"
        out, err = base.with_suffix(".out"), base.with_suffix(".err")
        with open(out, "wb") as fo, open(err, "wb") as fe:
            proc = subprocess.Popen(
                self.argv(list(command), extra, clock) + list(command),
                stdout=fo,
                stderr=fe,
                stdin=subprocess.DEVNULL,
            )
        return Running(proc, show or _shown(command, env, clock), out, err, imports)

    def finish(
        self, running: Running, expect: int | tuple[int, ...] = 0, timeout: float = 240
    ) -> Result:
        """Wait for a command; raise CommandFailed on an unexpected exit code."""
        try:
            code = running.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            running.proc.kill()
            code = running.proc.wait()
        out = running.out.read_text(encoding="utf-8", errors="replace")
        err = running.err.read_text(encoding="utf-8", errors="replace")
        err, modules = _split_imports(err) if running.imports else (err, set())
        result = Result(
            running.shown, code, out, err, time.monotonic() - running.started, frozenset(modules)
        )
        self.transcript.record(self.name, result)
        allowed = (expect,) if isinstance(expect, int) else expect
        if code not in allowed:
            tail = "\n".join((out + err).strip().splitlines()[-15:])
            raise CommandFailed(
                f"[{self.name}] `{result.shown}` exited {code}, expected "
                f"{' or '.join(map(str, allowed))}:\n{tail}"
            )
        return result

    def spawn(self, *command: str, log: Path, env: dict[str, str] | None = None):
        """Start a long-running process here (`ip netns exec` and `env` exec it: its pid is
        the process's own, so signals reach it)."""
        self.transcript.started(self.name, _shown(command, env, None))
        handle = open(log, "ab")  # noqa: SIM115 - the child owns it
        try:
            return subprocess.Popen(
                self.argv(list(command), env, None) + list(command),
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            handle.close()

    def can_connect(self, address: str, port: int, timeout: float = 1.0) -> bool:
        probe = (
            "import socket, sys\n"
            "try:\n"
            f"    socket.create_connection(({address!r}, {port}), {timeout}).close()\n"
            "except OSError:\n"
            "    sys.exit(1)\n"
        )
        done = subprocess.run(
            ["ip", "netns", "exec", self.ns, "python3", "-c", probe], capture_output=True
        )
        return done.returncode == 0

    def wait_port(self, address: str, port: int, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not self.can_connect(address, port):
            if time.monotonic() > deadline:
                raise CommandFailed(f"[{self.name}] nothing answers on {address}:{port}")
            time.sleep(0.2)


def _shown(command: tuple[str, ...], env: dict[str, str] | None, clock: str | None) -> str:
    shown = [
        f"{k}=***" if any(w in k for w in ("PASS", "SECRET", "TOKEN")) else f"{k}={v}"
        for k, v in (env or {}).items()
    ]
    if clock:
        shown += ["faketime", "-f", clock]
    return shlex.join([*shown, *command])


def _split_imports(stderr: str) -> tuple[str, set[str]]:
    """Separate `-X importtime` lines from the program's own stderr."""
    kept, modules = [], set()
    for line in stderr.splitlines(keepends=True):
        if line.startswith("import time:"):
            name = line.rsplit("|", 1)[-1].strip()
            if name != "package":  # the header line
                modules.add(name)
        else:
            kept.append(line)
    return "".join(kept), modules
