"""The pipeline across the machines — generate and publish on the source, load on the server,
warehouse on the analytics machine — with what each step must never import, and the
end-to-end comparison after each round."""

from __future__ import annotations

import json
import re
import time
from datetime import date, timedelta
from pathlib import Path

from . import oracle
from .machines import Site
from .net import Result, Running
from .stores import warehouse_store

_PUBLISHED = re.compile(r"^(published|completed|already published): (\S+)", re.M)
_LOADED = re.compile(r"^│ (\d{8}T\d{6}Z-\S+-[0-9a-f]{8}) ", re.M)
# What each role's step must never import (docs/deployment.md, STYLE.md).
FORBIDDEN = {
    "load": ("frota.generate", "frota.publish"),
    "warehouse": ("frota.load", "frota.generate", "frota.publish"),
    "report": ("frota.load", "frota.generate", "frota.publish"),
}
EXPORT_VEHICLES = [
    ("EXA-1001", "Van", "ativo", "45210", "15/07/2021"),
    ("EXA-1002", "Utilitário", "ativo", "88012", "02/03/2020"),
    ("EXB-2001", "Caminhão Toco", "em manutenção", "310500", "20/11/2018"),
    ("exc-1d23", "VUC", "ativo", "120987", "09/01/2022"),
]
EXPORT_SERVICES = [
    ("EXA-1001", "Troca de óleo e filtros", 30, "412,50", "preventiva", 29),
    ("EXA-1001", "Alinhamento e balanceamento", 21, "180,00", "preventiva", 21),
    ("EXA-1002", "Reparo no sistema de freios", 18, "1.234,56", "corretiva", 15),
    ("EXA-1002", "Troca de pneus", 12, "2.890,00", "preventiva", 12),
    ("EXB-2001", "Reparo de motor", 9, "12.345,67", "corretiva", 2),
    ("EXB-2001", "Revisão preventiva", 40, "1.862,64", "preventiva", 38),
    ("exc-1d23", "Troca de bateria", 5, "699,90", "corretiva", 5),
    ("exc-1d23", "Troca de óleo e filtros", 3, "389,00", "preventiva", 3),
]


class Flow:
    """Runs the steps and keeps what the oracle needs: publish order, exports, loads."""

    def __init__(self, site: Site, first_day: date) -> None:
        self.site = site
        self.day = first_day
        self.publish_order: list[str] = []
        self.exports: list[tuple[Path, str]] = []
        self.loaded: list[str] = []  # every batch any load reported, in order
        self.problems: list[str] = []  # import rules broken, batches loaded twice
        self.report_written: Path | None = None  # a report to check against the warehouse
        self.skew: tuple[str, str] | None = None  # (batch ahead, batch after the correction)

    # ---------------------------------------------------------------- the source

    def generate(self, days: int = 7, clock: str | None = None) -> Result:
        self.day += timedelta(days=days)
        return self.site.source.run("frota", "generate", "--until", str(self.day), clock=clock)

    def publish(self, *args: str, expect: int = 0, **options) -> Result:
        result = self.site.source.run("frota", "publish", *args, expect=expect, **options)
        self.note_published(result)
        return result

    def note_published(self, result: Result) -> list[str]:
        ids = [m.group(2) for m in _PUBLISHED.finditer(result.out)]
        self.publish_order += [i for i in ids if i not in self.publish_order]
        return ids

    def manifest(self, batch_id: str) -> dict:
        """The manifest of a published batch, as the drive holds it."""
        path = self.site.landing_root / "batches" / batch_id / "_manifest.json"
        return json.loads(path.read_text(encoding="utf-8"))

    def publish_export(self, name: str) -> str:
        folder = self.site.source.home / "exports" / name
        write_export(folder, self.day)
        ids = self.note_published(self.site.source.run("frota", "publish", "--from", str(folder)))
        self.exports.append((folder, ids[0]))
        return ids[0]

    # ---------------------------------------------------------------- the server

    def start_load(self, env: dict[str, str] | None = None) -> Running:
        return self.site.server.start("frota", "load", env=env, imports=True)

    def finish_load(self, running: Running, expect: int | tuple[int, ...] = 0) -> Result:
        result = self.site.server.finish(running, expect)
        self._imports("load", result)
        for batch_id in _LOADED.findall(result.out):
            if batch_id in self.loaded:
                self.problems.append(f"batch {batch_id} was loaded twice")
            self.loaded.append(batch_id)
        return result

    def load(self, expect: int | tuple[int, ...] = 0, env: dict[str, str] | None = None):
        return self.finish_load(self.start_load(env), expect)

    # ---------------------------------------------------------------- analytics

    def warehouse(self) -> Result:
        result = self.site.analytics.run("frota", "warehouse", imports=True)
        self._imports("warehouse", result)
        return result

    def report(self) -> Result:
        """The fleet report over every month up to this one; `compare` checks its total cost
        against the warehouse's (the figure as the page shows it, read from the HTML)."""
        period = f"2000-01..{date.today():%Y-%m}"
        out = self.site.analytics.home / "data" / "relatorio.html"
        result = self.site.analytics.run(
            "frota", "report", "--out", str(out), "--period", period, imports=True
        )
        self._imports("report", result)
        self.report_written = out
        return result

    def _imports(self, step: str, result: Result) -> None:
        bad = sorted(
            m
            for m in result.imports
            for f in FORBIDDEN.get(step, ())
            if m == f or m.startswith(f + ".")
        )
        if bad:
            self.problems.append(
                f"`frota {step}` imported {', '.join(bad[:3])}{', …' * (len(bad) > 3)}"
            )

    # ---------------------------------------------------------------- comparing

    def compare(self) -> tuple[oracle.Check, dict[str, oracle.Batch], oracle.Store]:
        """Source files -> landing -> MariaDB -> warehouse, batch by batch."""
        check = oracle.Check()
        check.problems += self.problems
        self.problems = []
        outbox = self.site.source.home / "data" / "outbox"
        waiting = [p.name for p in outbox.iterdir() if p.is_dir() and p.name[0] not in "_."]
        if waiting:
            check.problem(f"source: {waiting} generated but never published")
        sent = oracle.read_generated(outbox / "_published")
        sent += [oracle.read_export(folder, batch_id) for folder, batch_id in self.exports]
        landing = oracle.read_landing(self.site.landing_root)
        oracle.source_to_landing(sent, landing, check)
        db = self.site.db.store()
        oracle.landing_to_store(landing, db, "MariaDB", check)
        warehouse = warehouse_store(
            self.site.analytics.ns,
            self.site.analytics.home / ".venv" / "bin" / "python",
            self.site.analytics.home / "data" / "warehouse.duckdb",
        )
        oracle.store_to_store(db, warehouse, "warehouse", check)
        if self.report_written:
            page = self.report_written.read_text(encoding="utf-8")
            oracle.report_to_store(page, warehouse, check)
            self.report_written = None
        return check, landing, db


def write_export(folder: Path, day: date) -> None:
    """A pt-BR spreadsheet's CSV export: cp1252, `;`, decimal comma, dd/mm/yyyy, accented
    headers, plates with a hyphen and in lower case."""
    folder.mkdir(parents=True)

    def when(days_before: int) -> str:
        return (day - timedelta(days=days_before)).strftime("%d/%m/%Y")

    vehicles = ["Placa;Tipo Veículo;Status;Quilometragem Total;Data Aquisição"]
    vehicles += [";".join(v) for v in EXPORT_VEHICLES]
    services = ["Placa Veículo;Tipo Manutenção;Data Manutenção;Custo;Categoria;Data Conclusão"] + [
        f"{placa};{tipo};{when(start)};{custo};{categoria};{when(end)}"
        for placa, tipo, start, custo, categoria, end in EXPORT_SERVICES
    ]
    for name, lines in (("Veiculos.csv", vehicles), ("Manutencoes.csv", services)):
        (folder / name).write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def wait_for(what: str, condition, seconds: float = 60, alive: Running | None = None) -> None:
    """Poll `condition` (bounded); fail early if the process we wait on has ended."""
    deadline = time.monotonic() + seconds
    while not condition():
        if alive is not None and alive.proc.poll() is not None:
            said = alive.err.read_text(errors="replace")[-600:]
            raise AssertionError(
                f"{what}: the command ended first (exit {alive.proc.returncode}): {said}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:g} s")
        time.sleep(0.05)
