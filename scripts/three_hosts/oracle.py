"""The second, independent count: what should be where, computed without frota's code.

Batch files are read with Python's csv and Decimal; the operational database and the
warehouse are read with plain SQL (see `stores.py`). Each stage is compared with the one
before it, batch by batch: a row missing is `lost`, a row too many is `duplicated`; any other
difference (a cost sum, a batch loaded half) is a problem. Every problem fails the run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

MANIFEST = "_manifest.json"
Vehicle = tuple[str, str | None]  # (status, odometer)


@dataclass(frozen=True)
class Tally:
    """Maintenance rows and the sum of their cost."""

    rows: int = 0
    custo: Decimal = Decimal("0")

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.rows + other.rows, self.custo + other.custo)


@dataclass(frozen=True)
class Batch:
    """One batch folder on the landing area, as the drive holds it."""

    batch_id: str
    complete: bool  # manifest there, every file it lists there with its size and sha256
    files: dict[str, str]  # file name -> sha256 (of the files present)
    manifest: dict
    manutencoes: Tally
    veiculos: dict[str, Vehicle]
    orders: tuple[tuple[str, Decimal], ...] = ()  # (work order, cost) of rows that have one
    records: Tally | None = None  # rows that are new records (read_landing says)

    @property
    def rows(self) -> int:
        return self.manutencoes.rows + len(self.veiculos)

    @property
    def new_records(self) -> Tally:
        """What the batch adds to manutencoes: a work order an earlier batch of its source
        sent already is that record again (updated or present), not a new row."""
        return self.manutencoes if self.records is None else self.records


@dataclass(frozen=True)
class Sent:
    """What the source meant to publish: a generated folder, or an export and its batch id."""

    name: str
    files: dict[str, str] | None  # name -> sha256 (canonical files); None for an export
    manutencoes: Tally
    vehicles: int
    batch_id: str | None = None  # exports: the batch frota said it published them as


@dataclass(frozen=True)
class Store:
    """A database's view, by batch: the operational DB, or the warehouse's raw schema."""

    ledger: set[str]
    per_batch: dict[str, Tally]  # maintenance rows by lote_id
    vehicles: dict[str, Vehicle]
    quarantined: int = 0
    marts: dict[str, Tally] = field(default_factory=dict)  # warehouse: fact and KPI totals


@dataclass
class Check:
    """Differences found so far."""

    lost: int = 0
    duplicated: int = 0
    stale: int = 0  # vehicles whose stored state is not the last published one
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str, lost: int = 0, duplicated: int = 0) -> None:
        self.problems.append(text)
        self.lost += lost
        self.duplicated += duplicated


# ------------------------------------------------------------------ reading files


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tally_canonical(path: Path) -> Tally:
    if not path.exists():
        return Tally()
    with open(path, encoding="utf-8", newline="") as fh:
        costs = [Decimal(row["custo"]) for row in csv.DictReader(fh)]
    return Tally(len(costs), sum(costs, Decimal("0")))


def orders_canonical(path: Path) -> tuple[tuple[str, Decimal], ...]:
    if not path.exists():
        return ()
    with open(path, encoding="utf-8", newline="") as fh:
        return tuple(
            (r["id_origem"], Decimal(r["custo"] or "0"))
            for r in csv.DictReader(fh)
            if r.get("id_origem")
        )


def vehicles_canonical(path: Path) -> dict[str, Vehicle]:
    if not path.exists():
        return {}
    with open(path, encoding="utf-8", newline="") as fh:
        return {
            r["placa"]: (r["status"], r["quilometragem_total"] or None) for r in csv.DictReader(fh)
        }


def read_batch(folder: Path) -> Batch:
    files = {p.name: sha256(p) for p in folder.iterdir() if p.is_file()}
    manifest: dict = {}
    complete = False
    if MANIFEST in files:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        complete = all(
            (folder / f["name"]).is_file()
            and (folder / f["name"]).stat().st_size == f["bytes"]
            and files[f["name"]] == f["sha256"]
            for f in manifest["files"]
        )
    return Batch(
        folder.name,
        complete,
        {k: v for k, v in files.items() if k != MANIFEST},
        manifest,
        tally_canonical(folder / "manutencoes.csv"),
        vehicles_canonical(folder / "veiculos.csv"),
        orders_canonical(folder / "manutencoes.csv"),
    )


def read_landing(root: Path) -> dict[str, Batch]:
    batches = root / "batches"
    if not batches.is_dir():
        return {}
    read = {d.name: read_batch(d) for d in sorted(batches.iterdir()) if d.is_dir()}
    # Work orders, in publish order: the first complete batch of a source to send one adds
    # its record; later ones send the same record again.
    seen: set[tuple[str, str]] = set()
    out = {}
    for b in sorted(read.values(), key=_publish_order):
        resent = Tally()
        if b.complete:
            source = b.manifest.get("source", "")
            for order, cost in b.orders:
                if (source, order) in seen:
                    resent += Tally(1, cost)
                seen.add((source, order))
        records = Tally(b.manutencoes.rows - resent.rows, b.manutencoes.custo - resent.custo)
        out[b.batch_id] = Batch(**{**b.__dict__, "records": records})
    return dict(sorted(out.items()))


def _publish_order(b: Batch) -> tuple[str, int, str]:
    m = b.manifest
    return (
        str(m.get("published_at") or m.get("created_at") or ""),
        int(m.get("sequence", 0)),
        b.batch_id,
    )


def read_generated(published: Path) -> list[Sent]:
    """Folders `frota generate` wrote and `frota publish` moved to `_published/`."""
    sent = []
    for folder in sorted(p for p in published.iterdir() if p.is_dir()):
        files = {p.name: sha256(p) for p in folder.glob("*.csv")}
        sent.append(
            Sent(
                folder.name,
                files,
                tally_canonical(folder / "manutencoes.csv"),
                len(vehicles_canonical(folder / "veiculos.csv")),
            )
        )
    return sent


def export_decimal(text: str) -> Decimal:
    """`1.234,56` (a pt-BR spreadsheet) -> Decimal('1234.56')."""
    return Decimal(text.replace(".", "").replace(",", "."))


def read_export(folder: Path, batch_id: str, encoding: str = "cp1252") -> Sent:
    """An export as a person saved it from a spreadsheet (`;`, decimal comma, the cost in
    the fourth column), and the batch frota published it as."""
    tables = {}
    for path in folder.iterdir():
        with open(path, encoding=encoding, newline="") as fh:
            tables[path.stem.lower()] = [r for r in list(csv.reader(fh, delimiter=";"))[1:] if r]
    costs = [export_decimal(r[3]) for r in tables.get("manutencoes", [])]
    total = Tally(len(costs), sum(costs, Decimal("0")))
    return Sent(folder.name, None, total, len(tables.get("veiculos", [])), batch_id)


# ------------------------------------------------------------------ comparing stages


def complete_batches(landing: dict[str, Batch]) -> dict[str, Batch]:
    return {k: b for k, b in landing.items() if b.complete}


def source_to_landing(sent: Iterable[Sent], landing: dict[str, Batch], check: Check) -> None:
    """Every folder and export the source published is in exactly one complete batch."""
    complete = complete_batches(landing)
    claimed: set[str] = set()
    for s in sent:
        if s.files is not None:
            matches = [b for b in complete.values() if b.files == s.files]
        else:
            matches = [complete[s.batch_id]] if s.batch_id in complete else []
        rows = s.manutencoes.rows + s.vehicles
        if not matches:
            check.problem(f"{s.name}: not in any complete batch on the landing area", lost=rows)
            continue
        if len(matches) > 1:
            ids = ", ".join(b.batch_id for b in matches)
            check.problem(f"{s.name}: published {len(matches)} times ({ids})", duplicated=rows)
        batch = matches[0]
        claimed.update(b.batch_id for b in matches)
        if batch.manutencoes != s.manutencoes or len(batch.veiculos) != s.vehicles:
            check.problem(
                f"{s.name} -> {batch.batch_id}: {s.manutencoes.rows} maintenances "
                f"({s.manutencoes.custo}) and {s.vehicles} vehicles sent, the batch holds "
                f"{batch.manutencoes.rows} ({batch.manutencoes.custo}) and {len(batch.veiculos)}",
                lost=max(0, rows - batch.rows),
                duplicated=max(0, batch.rows - rows),
            )
    for batch_id in sorted(set(complete) - claimed):
        check.problem(
            f"{batch_id}: a complete batch nobody published", duplicated=complete[batch_id].rows
        )


def landing_to_store(landing: dict[str, Batch], store: Store, where: str, check: Check) -> None:
    """Each complete batch loaded once, whole; nothing of an incomplete one."""
    complete = complete_batches(landing)
    for batch_id, batch in complete.items():
        if batch_id not in store.ledger:
            check.problem(f"{where}: {batch_id} not loaded", lost=batch.rows)
            continue
        _same_tally(f"{where}: {batch_id}", batch.new_records, store.per_batch.get(batch_id), check)
    for batch_id in sorted(store.ledger - set(complete)):
        check.problem(f"{where}: {batch_id} in the ledger but not complete on the landing area")
    for batch_id in sorted(set(store.per_batch) - set(complete)):
        rows = store.per_batch[batch_id].rows
        check.problem(f"{where}: {rows} rows of {batch_id}, not a complete batch", duplicated=rows)
    if store.quarantined:
        check.problem(f"{where}: {store.quarantined} rows quarantined", lost=store.quarantined)
    expected = {p for b in complete.values() for p in b.veiculos}
    missing, extra = expected - set(store.vehicles), set(store.vehicles) - expected
    if missing or extra:
        check.problem(
            f"{where}: vehicles missing {sorted(missing)[:5]}, unexpected {sorted(extra)[:5]}",
            lost=len(missing),
            duplicated=len(extra),
        )


def store_to_store(upstream: Store, downstream: Store, where: str, check: Check) -> None:
    """The warehouse holds what the operational database holds, batch by batch."""
    for batch_id in sorted(upstream.ledger - downstream.ledger):
        rows = upstream.per_batch.get(batch_id, Tally()).rows
        check.problem(f"{where}: {batch_id} not replicated", lost=rows)
    for batch_id in sorted(downstream.ledger - upstream.ledger):
        check.problem(f"{where}: {batch_id} replicated but not in the operational ledger")
    for batch_id in sorted(set(upstream.per_batch) | set(downstream.per_batch)):
        if batch_id in downstream.ledger:
            _same_tally(
                f"{where}: {batch_id}",
                upstream.per_batch.get(batch_id, Tally()),
                downstream.per_batch.get(batch_id),
                check,
            )
    total = sum(upstream.per_batch.values(), Tally())
    for mart, got in downstream.marts.items():
        _same_tally(f"{where}: {mart}", total, got, check)
    if downstream.vehicles != upstream.vehicles:
        wrong = {
            p for p in set(upstream.vehicles) | set(downstream.vehicles)
            if upstream.vehicles.get(p) != downstream.vehicles.get(p)
        }  # fmt: skip
        check.problem(f"{where}: {len(wrong)} vehicles differ, e.g. {sorted(wrong)[:5]}")


_REPORT_TOTAL = re.compile(r'data-kpi="custo_total" data-value="([^"]*)"')


def report_to_store(page: str, warehouse: Store, check: Check) -> None:
    """The fleet report's total cost, as its HTML carries it, against the warehouse's cost
    mart (the report covers every month: `Flow.report`)."""
    found = _REPORT_TOTAL.search(page)
    expected = warehouse.marts["mart_custo_veiculo_mes"].custo
    if found is None:
        check.problem("report: the page shows no total cost")
    elif Decimal(found.group(1)) != expected:
        check.problem(f"report: total cost {found.group(1)}, the warehouse's {expected}")


def stale_vehicles(landing: dict[str, Batch], publish_order: list[str], store: Store) -> list[str]:
    """Plates whose stored state is not the one of the last batch published with them
    (DESIGN 5b: within a source, batches apply in publish order; newer wins)."""
    complete = complete_batches(landing)
    latest: dict[str, Vehicle] = {}
    for batch_id in publish_order:
        if batch_id in complete:
            latest.update(complete[batch_id].veiculos)
    return sorted(p for p, state in latest.items() if store.vehicles.get(p) != state)


def _same_tally(what: str, expected: Tally, got: Tally | None, check: Check) -> None:
    got = got or Tally()
    if got == expected:
        return
    check.problem(
        f"{what}: expected {expected.rows} maintenances ({expected.custo}), "
        f"found {got.rows} ({got.custo})",
        lost=max(0, expected.rows - got.rows),
        duplicated=max(0, got.rows - expected.rows),
    )
