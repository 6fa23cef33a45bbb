"""Helpers for the warehouse tests: a small fleet written straight into an operational DB, and
the comparison of a mart with the independent computation of tests/warehouse_oracle.py.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa
from warehouse_oracle import MART_KEYS

from frota.config import Settings
from frota.contract import MANUTENCOES
from frota.contract.identity import business_cells, fingerprint, record_key
from frota.db import schema
from frota.db.history import Version
from frota.load.vehicles import VehicleUpsert
from frota.warehouse import PROJECT_DIR

# Every model of the dbt project: what a successful build builds.
MODELS = len(list((PROJECT_DIR / "models").rglob("*.sql")))


def at(
    database_url: str, warehouse_url: str, categories: tuple[tuple[str, str, str], ...] = ()
) -> Settings:
    """Settings for a warehouse step from the operational database to the warehouse."""
    return Settings(database=database_url, warehouse=warehouse_url, categories=categories)


# The company's words, some only frota.contract.categories classifies right ("Roubado" is
# inactive, "Aguardando peça" in the shop) and some only an override can ("Parado").
STATUSES = ("Ativo", "Em manutenção", "Inativo", "Ativo", "Roubado", "Aguardando peça", "Parado")
TIPOS = ("Caminhão", "Van", "Utilitário", "Carro", "Bitruck")
SERVICOS = ("Troca de óleo", "Freios", "Pneus", "Motor", "Revisão", "Higienização", None)


@dataclass
class Fleet:
    """A deterministic fleet simulation, one call to `next_batch` per batch."""

    seed: int = 7
    rng: random.Random = field(init=False)
    vehicles: dict[str, dict] = field(default_factory=dict)
    created: datetime = datetime(2024, 1, 10, 8, 0, 0)
    count: int = 0
    visits: bool = False  # some maintenances in pairs: two services of one shop visit

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def _plate(self) -> str:
        r = self.rng
        letters = "".join(r.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
        if r.random() < 0.5:
            return f"{letters}{r.randint(1000, 9999)}"
        return f"{letters}{r.randint(0, 9)}{r.choice('ABCDEFGHIJ')}{r.randint(10, 99)}"

    def next_batch(
        self,
        new_vehicles: int,
        changes: int,
        maintenances: int,
        *,
        original: bool = False,
        source: str = "test",
    ) -> dict:
        """The rows of one batch of `source`: new or changed vehicles, and new maintenances
        (`original`: in the original format, without categoria, quilometragem and
        data_conclusao)."""
        r = self.rng
        self.count += 1
        batch_created = self.created + timedelta(days=37 * (self.count - 1), hours=self.count)
        touched: dict[str, dict] = {}
        for _ in range(new_vehicles):
            placa = self._plate()
            while placa in self.vehicles:
                placa = self._plate()
            v = {
                "placa": placa,
                "tipo_veiculo": r.choice(TIPOS),
                "status": r.choice(STATUSES),
                "quilometragem_total": r.randint(0, 50_000),
                "data_aquisicao": date(2018, 1, 1) + timedelta(days=r.randint(0, 1400)),
            }
            self.vehicles[placa] = v
            touched[placa] = v
        existing = [p for p in self.vehicles if p not in touched]
        for placa in r.sample(existing, min(changes, len(existing))):
            v = dict(self.vehicles[placa])
            roll = r.random()
            if roll < 0.6:
                v["status"] = r.choice([s for s in STATUSES if s != v["status"]])
            elif roll < 0.75:
                v["tipo_veiculo"] = r.choice([t for t in TIPOS if t != v["tipo_veiculo"]])
            # else: only the odometer moves (a snapshot without a new SCD2 version)
            v["quilometragem_total"] += r.randint(100, 5000)
            self.vehicles[placa] = v
            touched[placa] = v
        rows = []
        plates = list(self.vehicles)
        for _ in range(maintenances):
            placa = r.choice(plates)
            v = self.vehicles[placa]
            v["quilometragem_total"] += r.randint(0, 3000)
            day = batch_created.date() - timedelta(days=r.randint(1, 60))
            cat = r.choice(("preventiva", "corretiva", "corretiva", None))
            open_ = r.random() < 0.15
            rows.append(
                {
                    "placa_veiculo": placa,
                    "tipo_manutencao": r.choice(SERVICOS),
                    "data_manutencao": day,
                    "custo": Decimal(r.randint(5000, 900_000)) / 100,
                    "quilometragem": None if r.random() < 0.1 else v["quilometragem_total"],
                    "categoria": cat,
                    "data_conclusao": None if open_ else day + timedelta(days=r.randint(0, 9)),
                }
            )
            if self.visits and r.random() < 0.2:  # a second service of the visit, leaving later
                second = dict(rows[-1], tipo_manutencao=r.choice(SERVICOS))
                second["custo"] = Decimal(r.randint(5000, 90_000)) / 100
                if second["data_conclusao"] is not None and r.random() < 0.5:
                    second["data_conclusao"] += timedelta(days=r.randint(1, 3))
                rows.append(second)
            if original:
                for row in rows[-2:]:
                    row.update(categoria=None, quilometragem=None, data_conclusao=None)
            touched.setdefault(placa, v)
        created_at = batch_created.strftime("%Y-%m-%dT%H:%M:%SZ")
        batch_id = f"{batch_created:%Y%m%dT%H%M%SZ}-{source}-{self.count:08x}"
        return {
            "batch_id": batch_id,
            "source": source,
            "created_at": created_at,
            "veiculos": [dict(v) for v in touched.values()],
            "manutencoes": rows,
        }


def load_batch(engine: sa.Engine, batch: dict, loaded_at: datetime | None = None) -> None:
    """What the loader does for one batch, in one transaction: the vehicles through the
    loader's own upsert (frota.load.vehicles: newer wins, an older state only joins the
    history), the maintenances appended, its `changes` to stored maintenances applied
    (`apply_changes`), the ledger row. A batch's `as_of` (default: its created_at) is when its
    data were true: an earlier one makes it a late batch."""
    lote = batch["batch_id"]
    source = batch.get("source", "test")
    created = datetime.strptime(batch["created_at"], "%Y-%m-%dT%H:%M:%SZ")
    as_of = batch.get("as_of", created)
    ordem = f"{created:%Y-%m-%dT%H:%M:%S.%f}Z|{source}|{0:010d}|{lote[-8:]}"
    with engine.begin() as conn:
        upsert: VehicleUpsert[None] = VehicleUpsert(conn, lote, Version(as_of, ordem), _no_problem)
        for v in batch["veiculos"]:
            upsert.add(dict(v), None)
        upsert.flush()
        if batch["manutencoes"]:
            seen: Counter[str] = Counter()  # the k of each identical row (contract.identity)
            rows = []
            for m in batch["manutencoes"]:
                print_ = fingerprint(business_cells(m))
                seen[print_] += 1
                key = record_key(batch.get("source", "test"), m, seen[print_])
                rows.append({**m, "lote_id": lote, "chave": key})
            conn.execute(schema.manutencoes.insert(), rows)
        changed = apply_changes(conn, lote, batch.get("changes", ()))
        conn.execute(
            schema.batches.insert().values(
                batch_id=lote,
                source=source,
                created_at=batch["created_at"],
                published_at=created,
                sequence=0,
                as_of=as_of,
                ordem=ordem,
                content_sha256="0" * 64,
                loaded_at=loaded_at or datetime.now(UTC).replace(tzinfo=None),
                run_id="test",
                rows_read=len(batch["veiculos"]) + len(batch["manutencoes"]),
                veiculos_inserted=upsert.inserted,
                veiculos_updated=upsert.updated,
                veiculos_stale=upsert.stale,
                manutencoes_inserted=len(batch["manutencoes"]),
                manutencoes_updated=changed["update"] + changed["restore"],
                manutencoes_retired=changed["retire"],
                quarantined=0,
                released=0,
                duplicates=0,
            )
        )


def apply_changes(conn: sa.Connection, lote: str, changes: Iterable[tuple]) -> Counter[str]:
    """What the loader does to stored maintenances (DESIGN §5b): each (kind, id, values) —
    'update' with the new values, 'retire', 'restore' — changes the row and writes the
    record's image after the change to frota_manutencoes_historico, with the batch."""
    m, h = schema.manutencoes, schema.maintenance_history
    now = datetime.now(UTC).replace(tzinfo=None)
    done: Counter[str] = Counter()
    for kind, id_, values in changes:
        state = {
            "update": dict(values),
            "retire": {"retirada_lote": lote, "retirada_em": now},
            "restore": {"retirada_lote": None, "retirada_em": None},
        }[kind]
        conn.execute(m.update().where(m.c.id == id_).values(**state))
        row = conn.execute(sa.select(m).where(m.c.id == id_)).mappings().one()
        image = {c.name: row[c.name] for c in MANUTENCOES.csv_columns}
        conn.execute(
            h.insert().values(
                chave=row["chave"], lote_id=lote, mudanca=kind, registrado_em=now, **image
            )
        )
        done[kind] += 1
    return done


def _no_problem(_tag: None, row: dict, change: object) -> None:
    assert isinstance(change, str), f"the loader would hold {row}: {change}"


def compare(name: str, actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Assert the mart equals the oracle on the oracle's columns (floats to 1e-9 relative)."""
    keys = MART_KEYS[name]
    cols = list(expected.columns)
    assert set(cols) <= set(actual.columns), set(cols) - set(actual.columns)
    a = actual[cols].copy()
    e = expected[cols].copy()
    for df in (a, e):
        for k in keys:
            if k in ("mes", "data", "data_entrada"):
                df[k] = pd.to_datetime(df[k])
    a = a.sort_values(keys).reset_index(drop=True)
    e = e.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(e), f"{name}: {len(a)} rows, expected {len(e)}"
    for col in cols:
        if col in keys:
            assert list(a[col]) == list(e[col]), f"{name}.{col} keys differ"
            continue
        av, ev = _numbers(a[col]), _numbers(e[col])
        bad = ~(((av - ev).abs() <= 1e-9 * ev.abs().clip(lower=1)) | (av.isna() & ev.isna()))
        assert not bad.any(), (
            f"{name}.{col} differs at {e.loc[bad, keys].head(3).to_dict('records')}: "
            f"got {list(av[bad].head(3))}, expected {list(ev[bad].head(3))}"
        )


def _numbers(column: pd.Series) -> pd.Series:
    """A column as floats: dates as days since the epoch, booleans as 0/1, missing as NaN."""
    values = column.astype(object).where(column.notna(), None)
    if any(isinstance(v, date | datetime | pd.Timestamp) for v in values):
        values = pd.Series([None if v is None else pd.Timestamp(v).value for v in values])
    return pd.to_numeric(values).astype(float).reset_index(drop=True)


def test_fleet_is_deterministic() -> None:
    a, b = Fleet(seed=3), Fleet(seed=3)
    assert a.next_batch(5, 0, 10) == b.next_batch(5, 0, 10)
