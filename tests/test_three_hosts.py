"""scripts/three-hosts.sh's own parts: the oracle finds every kind of difference it is there
to find, the cutting proxy passes bytes and cuts, and the script skips (or fails in CI) where
it cannot run. The script itself runs in .ci/run (`make three-hosts`)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from three_hosts import oracle  # noqa: E402
from three_hosts.oracle import Check, Store, Tally  # noqa: E402

HEADER_M = (
    "placa_veiculo,tipo_manutencao,data_manutencao,custo,quilometragem,categoria,data_conclusao"
)
HEADER_V = "placa,tipo_veiculo,status,quilometragem_total,data_aquisicao"


def write_batch(
    root: Path, batch_id: str, services: list[str], vehicles: list[str], *, manifest: bool = True
) -> Path:
    folder = root / "batches" / batch_id
    folder.mkdir(parents=True)
    files = []
    for name, header, lines in (
        ("manutencoes.csv", HEADER_M, services),
        ("veiculos.csv", HEADER_V, vehicles),
    ):
        data = "\n".join([header, *lines]).encode() + b"\n"
        (folder / name).write_bytes(data)
        files.append({"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    if manifest:
        (folder / "_manifest.json").write_text(json.dumps({"batch_id": batch_id, "files": files}))
    return folder


A, B, C = (
    "20260101T000000Z-s-aaaaaaaa",
    "20260101T000001Z-s-bbbbbbbb",
    "20260101T000002Z-s-cccccccc",
)


@pytest.fixture
def landing(tmp_path: Path) -> dict[str, oracle.Batch]:
    write_batch(
        tmp_path,
        A,
        ["AAA1111,Pneus,2026-01-02,100.50,,preventiva,", "AAA1111,Freios,2026-01-03,9.50,,,"],
        ["AAA1111,Van,ativo,1000,2020-01-01", "BBB2222,VUC,ativo,500,2021-01-01"],
    )
    write_batch(tmp_path, B, ["BBB2222,Pneus,2026-01-04,1.00,,,"], ["BBB2222,VUC,inativo,600,"])
    write_batch(tmp_path, C, ["AAA1111,Pneus,2026-01-05,5.00,,,"], [], manifest=False)
    return oracle.read_landing(tmp_path)


def exact_store(landing: dict[str, oracle.Batch]) -> Store:
    return Store(
        ledger={A, B},
        per_batch={A: Tally(2, Decimal("110.00")), B: Tally(1, Decimal("1.00"))},
        vehicles={"AAA1111": ("ativo", "1000"), "BBB2222": ("inativo", "600")},
    )


def test_landing_is_read_as_the_drive_holds_it(landing: dict[str, oracle.Batch]) -> None:
    assert [b for b, batch in landing.items() if batch.complete] == [A, B]
    assert landing[A].manutencoes == Tally(2, Decimal("110.00"))
    assert landing[A].rows == 4


def test_an_exact_copy_has_no_difference(landing: dict[str, oracle.Batch]) -> None:
    check = Check()
    store = exact_store(landing)
    oracle.landing_to_store(landing, store, "db", check)
    oracle.store_to_store(store, store, "warehouse", check)
    assert check == Check()
    assert oracle.stale_vehicles(landing, [A, B], store) == []


def test_lost_duplicated_and_half_loaded_rows_are_found(
    landing: dict[str, oracle.Batch],
) -> None:
    store = Store(
        ledger={A, C},  # B never loaded; C (incomplete) in the ledger
        per_batch={A: Tally(3, Decimal("120.00")), C: Tally(1, Decimal("5.00"))},
        vehicles={"AAA1111": ("ativo", "1000")},
        quarantined=2,
    )
    check = Check()
    oracle.landing_to_store(landing, store, "db", check)
    # B: 1 maintenance + 1 vehicle not loaded; 2 quarantined; BBB2222 missing.
    assert check.lost == 2 + 2 + 1
    # A: one maintenance too many; C: a row of an incomplete batch.
    assert check.duplicated == 1 + 1
    assert any(f"{C} in the ledger but not complete" in p for p in check.problems)


def test_the_warehouse_is_compared_batch_by_batch(landing: dict[str, oracle.Batch]) -> None:
    db = exact_store(landing)
    warehouse = Store(
        ledger={A},
        per_batch={A: Tally(2, Decimal("110.01"))},  # one cent off
        vehicles=db.vehicles,
        marts={"fct": Tally(4, Decimal("111.00"))},
    )
    check = Check()
    oracle.store_to_store(db, warehouse, "warehouse", check)
    assert (check.lost, check.duplicated) == (1, 1)  # B not replicated; the fact has 1 extra
    assert any("110.01" in p for p in check.problems)


def test_newer_wins_follows_the_publish_order(landing: dict[str, oracle.Batch]) -> None:
    store = exact_store(landing)
    assert oracle.stale_vehicles(landing, [A, B], store) == []
    # Had A been published after B, BBB2222 should hold A's state.
    assert oracle.stale_vehicles(landing, [B, A], store) == ["BBB2222"]


def test_source_files_are_found_once_on_the_landing_area(
    tmp_path: Path, landing: dict[str, oracle.Batch]
) -> None:
    published = tmp_path / "_published"
    folder = published / "000001-20260101"
    folder.mkdir(parents=True)
    for name in ("manutencoes.csv", "veiculos.csv"):
        (folder / name).write_bytes((tmp_path / "batches" / A / name).read_bytes())
    never = published / "000002-20260102"
    never.mkdir()
    (never / "manutencoes.csv").write_text(HEADER_M + "\nAAA1111,X,2026-01-09,7.00,,,\n")
    export = tmp_path / "export"
    export.mkdir()
    (export / "Manutencoes.csv").write_bytes(
        "Placa;Tipo Manutenção;Data;Custo\nBBB-2222;Pneus;04/01/2026;1,00\n".encode("cp1252")
    )
    (export / "Veiculos.csv").write_bytes(b"Placa;Status\nBBB-2222;inativo\n")
    sent = oracle.read_generated(published) + [oracle.read_export(export, B)]
    check = Check()
    oracle.source_to_landing(sent, landing, check)
    assert (check.lost, check.duplicated) == (1, 0)  # the folder never published
    assert check.problems == ["000002-20260102: not in any complete batch on the landing area"]
    assert oracle.export_decimal("12.345,67") == Decimal("12345.67")


def test_cutproxy_passes_bytes_and_cuts_on_sigusr1() -> None:
    echo = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = echo.accept()
        with contextlib.suppress(ConnectionError), conn:  # the cut reaches this side too
            while data := conn.recv(1024):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proxy = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "three_hosts" / "cutproxy.py"),
         f"127.0.0.1:{port}", f"127.0.0.1:{echo.getsockname()[1]}"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proxy.stdout is not None
        assert proxy.stdout.readline().strip() == "ready"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(b"frota")
            assert client.recv(1024) == b"frota"
            proxy.send_signal(signal.SIGUSR1)
            assert proxy.stdout.readline().strip() == "cut 1"
            with contextlib.suppress(ConnectionResetError):  # reset, or at least closed:
                assert client.recv(1024) == b""
    finally:
        proxy.terminate()
        proxy.wait(10)
        echo.close()


@pytest.mark.parametrize(("ci", "code", "says"), [("", 0, "skipped"), ("true", 1, "cannot run")])
def test_script_says_why_it_cannot_run(tmp_path: Path, ci: str, code: int, says: str) -> None:
    """Without `ip` (or root) it skips locally and fails in CI."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("id", "dirname"):
        (bin_dir / tool).symlink_to(subprocess.check_output(["which", tool], text=True).strip())
    done = subprocess.run(
        ["/bin/bash", str(ROOT / "scripts" / "three-hosts.sh")],
        env={"PATH": str(bin_dir), "CI": ci, "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    assert says in done.stdout + done.stderr
    assert os.listdir(tmp_path) == ["bin"]  # nothing made, nothing left


def test_the_report_total_is_compared_with_the_warehouse() -> None:
    warehouse = Store(set(), {}, {}, marts={"mart_custo_veiculo_mes": Tally(3, Decimal("1234.56"))})
    shown = '<span class="fig" data-kpi="custo_total" data-value="{}">R$ …</span>'
    check = Check()
    oracle.report_to_store(shown.format("1234.56"), warehouse, check)
    assert check.problems == []
    oracle.report_to_store(shown.format("1234.50"), warehouse, check)
    oracle.report_to_store("<p>no figures</p>", warehouse, check)
    assert check.problems == [
        "report: total cost 1234.50, the warehouse's 1234.56",
        "report: the page shows no total cost",
    ]
