"""Plain SQL views of the two databases, for the oracle: the operational MariaDB through the
`mariadb` client on the server (as root, over its socket), the warehouse through DuckDB in the
analytics machine's own virtualenv. Neither goes through frota's code."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path

from .oracle import Store, Tally

_WAREHOUSE_SQL = {
    "ledger": "select batch_id from raw.frota_replicated_batches",
    # each record's latest copy (raw keeps one more copy per change to a record)
    "per_batch": "select lote_id, count(*), sum(custo) from (select * from raw.manutencoes "
    "qualify row_number() over (partition by id order by _replication_seq desc, "
    "_mudanca_id desc) = 1) group by lote_id",
    "vehicles": "select placa, status, quilometragem_total from analytics.dim_veiculos "
    "where is_atual",
    "fct_manutencoes": "select count(*), sum(custo) from analytics.fct_manutencoes",
    "mart_custo_veiculo_mes": "select sum(qtd_manutencoes), sum(custo_total) "
    "from analytics.mart_custo_veiculo_mes",
}
_DUCKDB_SCRIPT = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
queries = json.loads(sys.argv[2])
out = {k: [[None if v is None else str(v) for v in row] for row in con.sql(q).fetchall()]
       for k, q in queries.items()}
print(json.dumps(out))
"""


def _km(value: str | None) -> str | None:
    return None if value is None or value in ("NULL", "") else str(int(Decimal(value)))


def _tally(count: str | None, total: str | None) -> Tally:
    amount = Decimal(0) if total is None or total == "NULL" else Decimal(total)
    return Tally(int(count or 0), amount)


class OperationalDb:
    """Reads the server's MariaDB as its administrator would."""

    def __init__(self, namespace: str, socket: Path, database: str) -> None:
        self.namespace, self.socket, self.database = namespace, socket, database

    def query(self, sql: str) -> list[list[str]]:
        done = subprocess.run(
            ["ip", "netns", "exec", self.namespace, "mariadb", "--no-defaults",
             f"--socket={self.socket}", "-u", "root", "--batch", "--skip-column-names",
             self.database, "-e", sql],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        return [line.split("\t") for line in done.stdout.splitlines()]

    def store(self) -> Store:
        per_batch = {
            lote: _tally(n, total)
            for lote, n, total in self.query(
                "SELECT lote_id, COUNT(*), SUM(custo) FROM manutencoes GROUP BY lote_id"
            )
        }
        vehicles = {
            placa: (status, _km(km))
            for placa, status, km in self.query(
                "SELECT placa, status, quilometragem_total FROM veiculos"
            )
        }
        return Store(
            ledger={row[0] for row in self.query("SELECT batch_id FROM frota_batches")},
            per_batch=per_batch,
            vehicles=vehicles,
            quarantined=int(self.query("SELECT COUNT(*) FROM frota_quarantine")[0][0]),
        )


def warehouse_store(namespace: str, python: Path, duckdb_file: Path) -> Store:
    """The warehouse's raw schema (by batch) and its marts (totals), read-only."""
    done = subprocess.run(
        ["ip", "netns", "exec", namespace, str(python), "-c", _DUCKDB_SCRIPT,
         str(duckdb_file), json.dumps(_WAREHOUSE_SQL)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    rows = json.loads(done.stdout)
    return Store(
        ledger={r[0] for r in rows["ledger"]},
        per_batch={lote: _tally(n, total) for lote, n, total in rows["per_batch"]},
        vehicles={placa: (status, _km(km)) for placa, status, km in rows["vehicles"]},
        marts={
            name: _tally(*rows[name][0]) for name in ("fct_manutencoes", "mart_custo_veiculo_mes")
        },
    )
