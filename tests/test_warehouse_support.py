"""Helpers for the warehouse tests: a small fleet written straight into an operational DB, and
an independent pandas computation of every KPI mart (the oracle the marts are compared to).

The oracle reads only the operational tables (a copy of `veiculos` after each batch, and
`manutencoes` at the end) and re-implements each mart's definition from docs/warehouse.md,
classifying the company's words with frota.contract.categories (the one source of truth,
with the same `[categories]` overrides the warehouse got).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa

from frota.config import Settings
from frota.contract.categories import Categories
from frota.db import schema
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

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def _plate(self) -> str:
        r = self.rng
        letters = "".join(r.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
        if r.random() < 0.5:
            return f"{letters}{r.randint(1000, 9999)}"
        return f"{letters}{r.randint(0, 9)}{r.choice('ABCDEFGHIJ')}{r.randint(10, 99)}"

    def next_batch(
        self, new_vehicles: int, changes: int, maintenances: int, *, original: bool = False
    ) -> dict:
        """The rows of one batch: new or changed vehicles, and new maintenances (`original`:
        in the original format, without categoria, quilometragem and data_conclusao)."""
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
            if original:
                rows[-1].update(categoria=None, quilometragem=None, data_conclusao=None)
            touched.setdefault(placa, v)
        created_at = batch_created.strftime("%Y-%m-%dT%H:%M:%SZ")
        batch_id = f"{batch_created:%Y%m%dT%H%M%SZ}-test-{self.count:08x}"
        return {
            "batch_id": batch_id,
            "created_at": created_at,
            "veiculos": [dict(v) for v in touched.values()],
            "manutencoes": rows,
        }


def load_batch(engine: sa.Engine, batch: dict, loaded_at: datetime | None = None) -> None:
    """What the loader does for one batch, in one transaction: upsert, append, ledger row."""
    lote = batch["batch_id"]
    with engine.begin() as conn:
        for v in batch["veiculos"]:
            row = {**v, "lote_id": lote}
            updated = conn.execute(
                schema.veiculos.update().where(schema.veiculos.c.placa == v["placa"]).values(**row)
            ).rowcount
            if not updated:
                conn.execute(schema.veiculos.insert().values(**row))
        if batch["manutencoes"]:
            conn.execute(
                schema.manutencoes.insert(),
                [{**m, "lote_id": lote} for m in batch["manutencoes"]],
            )
        conn.execute(
            schema.batches.insert().values(
                batch_id=lote,
                source="test",
                created_at=batch["created_at"],
                content_sha256="0" * 64,
                loaded_at=loaded_at or datetime.now(UTC).replace(tzinfo=None),
                run_id="test",
                rows_read=len(batch["veiculos"]) + len(batch["manutencoes"]),
                veiculos_inserted=len(batch["veiculos"]),
                veiculos_updated=0,
                veiculos_stale=0,
                manutencoes_inserted=len(batch["manutencoes"]),
                quarantined=0,
                released=0,
                duplicates=0,
            )
        )


# ---------------------------------------------------------------- the independent oracle


def text(value: object) -> str | None:
    """A text cell of a DataFrame, None for a missing one (pandas gives NaN or None)."""
    return value if isinstance(value, str) else None


def status_classe(status: str | None) -> str:
    """The status class without overrides (frota.contract.categories)."""
    return Categories().status(status)


@dataclass
class Oracle:
    """Operational-state history (veiculos after each batch) and the final maintenances."""

    history: list[tuple[datetime, pd.DataFrame]] = field(default_factory=list)
    manutencoes: pd.DataFrame | None = None
    categories: Categories = field(default_factory=Categories)

    def record(self, engine: sa.Engine, created_at: str) -> None:
        """Remember the whole veiculos table as it is after the batch created at created_at."""
        ts = datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%SZ")
        with engine.connect() as conn:
            df = pd.read_sql(sa.select(schema.veiculos), conn)
        self.history.append((ts, df))

    def finish(self, engine: sa.Engine) -> None:
        with engine.connect() as conn:
            df = pd.read_sql(sa.select(schema.manutencoes), conn)
        df["custo"] = df["custo"].astype(float)
        for col in ("data_manutencao", "data_conclusao"):
            df[col] = pd.to_datetime(df[col])
        self.manutencoes = df

    def versions(self) -> pd.DataFrame:
        """SCD2: a new version whenever (status, tipo) differs from the vehicle's last one."""
        rows: list[dict] = []
        last: dict[str, dict] = {}
        for ts, df in sorted(self.history, key=lambda h: h[0]):
            for v in df.to_dict("records"):
                prev = last.get(v["placa"])
                state = (v["status"], v["tipo_veiculo"])
                if prev is not None and prev["state"] == state:
                    continue
                if prev is not None:
                    prev["valido_ate"] = ts
                rec = {
                    "placa": v["placa"],
                    "versao": 1 if prev is None else prev["versao"] + 1,
                    "status": v["status"],
                    "tipo_veiculo": v["tipo_veiculo"],
                    "state": state,
                    "valido_de": datetime(1900, 1, 1) if prev is None else ts,
                    "valido_ate": datetime(9999, 12, 31),
                    "primeiro": ts if prev is None else prev["primeiro"],
                }
                rows.append(rec)
                last[v["placa"]] = rec
        out = pd.DataFrame(rows).drop(columns="state")
        out["status_classe"] = [self.categories.status(text(s)) for s in out["status"]]
        out["tipo_veiculo_classe"] = [
            self.categories.vehicle_type(text(t)) for t in out["tipo_veiculo"]
        ]
        out["is_atual"] = out["valido_ate"] == datetime(9999, 12, 31)
        return out

    def fact(self) -> pd.DataFrame:
        """Maintenances with the vehicle version in force at the start of the service day."""
        assert self.manutencoes is not None
        m = self.manutencoes.copy()
        ver = self.versions()
        tipo = []
        for placa, day in zip(m["placa_veiculo"], m["data_manutencao"], strict=True):
            vs = ver[(ver.placa == placa) & (ver.valido_de <= day) & (ver.valido_ate > day)]
            assert len(vs) == 1, (placa, day)
            tipo.append(vs.iloc[0]["tipo_veiculo"])
        m["tipo_veiculo"] = tipo
        # The row's own categoria wins; else the class of its tipo_manutencao.
        m["categoria_inferida"] = m["categoria"].isna()
        m["categoria"] = [
            text(given) or self.categories.maintenance(text(tipo))
            for given, tipo in zip(m["categoria"], m["tipo_manutencao"], strict=True)
        ]
        m["mes"] = m["data_manutencao"].dt.to_period("M").dt.to_timestamp()
        m["dias"] = (m["data_conclusao"] - m["data_manutencao"]).dt.days
        return m

    # One function per mart, named like it.

    def mart_custo_veiculo_mes(self) -> pd.DataFrame:
        m = self.fact()
        g = m.groupby(["placa_veiculo", "mes"])
        out = pd.DataFrame(
            {
                "qtd_manutencoes": g.size(),
                "custo_total": g["custo"].sum(),
                "custo_preventiva": m[m.categoria == "preventiva"]
                .groupby(["placa_veiculo", "mes"])["custo"]
                .sum(),
                "custo_corretiva": m[m.categoria == "corretiva"]
                .groupby(["placa_veiculo", "mes"])["custo"]
                .sum(),
            }
        ).fillna(0.0)
        return out.reset_index().rename(columns={"placa_veiculo": "placa"})

    def mart_custo_por_km(self) -> pd.DataFrame:
        rows = []
        for placa, g in self.fact().groupby("placa_veiculo"):
            km = g["quilometragem"].dropna()
            span = km.max() - km.min() if len(km) else None
            rows.append(
                {
                    "placa": placa,
                    "qtd_manutencoes": len(g),
                    "qtd_leituras": len(km),
                    "km_percorridos": span,
                    "custo_total": g["custo"].sum(),
                    "custo_por_km": g["custo"].sum() / span if span else None,
                }
            )
        return pd.DataFrame(rows)

    def mart_participacao_preventiva(self) -> pd.DataFrame:
        rows = []
        for mes, g in self.fact().groupby("mes"):
            prev, corr = g[g.categoria == "preventiva"], g[g.categoria == "corretiva"]
            n = len(prev) + len(corr)
            c = prev["custo"].sum() + corr["custo"].sum()
            rows.append(
                {
                    "mes": mes,
                    "qtd_preventiva": len(prev),
                    "qtd_corretiva": len(corr),
                    "qtd_categoria_inferida": int(g.categoria_inferida.sum()),
                    "custo_preventiva": prev["custo"].sum(),
                    "custo_corretiva": corr["custo"].sum(),
                    "participacao_preventiva_qtd": len(prev) / n if n else None,
                    "participacao_preventiva_custo": prev["custo"].sum() / c if c else None,
                }
            )
        return pd.DataFrame(rows)

    def mart_indisponibilidade(self) -> pd.DataFrame:
        rows = []
        for placa, g in self.fact().groupby("placa_veiculo"):
            done = g[g.data_conclusao.notna()]
            repairs = done[done.categoria == "corretiva"]
            rows.append(
                {
                    "placa": placa,
                    "qtd_manutencoes": len(g),
                    "qtd_concluidas": len(done),
                    "qtd_em_aberto": len(g) - len(done),
                    "dias_parado_total": done["dias"].sum(),
                    "media_dias_parado": done["dias"].mean() if len(done) else None,
                    "qtd_reparos": len(repairs),
                    "mttr_dias": repairs["dias"].mean() if len(repairs) else None,
                }
            )
        return pd.DataFrame(rows)

    def mart_tempo_entre_corretivas(self) -> pd.DataFrame:
        rows = []
        m = self.fact()
        for placa, g in m[m.categoria == "corretiva"].groupby("placa_veiculo"):
            days = g.sort_values(["data_manutencao", "id"])["data_manutencao"]
            gaps = days.diff().dropna().dt.days
            rows.append(
                {
                    "placa": placa,
                    "qtd_corretivas": len(g),
                    "qtd_intervalos": len(gaps),
                    "media_dias_entre_corretivas": gaps.mean() if len(gaps) else None,
                    "min_dias_entre_corretivas": gaps.min() if len(gaps) else None,
                    "max_dias_entre_corretivas": gaps.max() if len(gaps) else None,
                }
            )
        return pd.DataFrame(rows)

    def mart_custo_por_tipo(self) -> pd.DataFrame:
        m = self.fact()
        m["tipo_manutencao"] = m["tipo_manutencao"].fillna("(não informado)")
        m["tipo_veiculo"] = m["tipo_veiculo"].fillna("(não informado)")
        g = m.groupby(["tipo_manutencao", "tipo_veiculo"])["custo"]
        out = pd.DataFrame({"qtd_manutencoes": g.size(), "custo_total": g.sum()})
        return out.reset_index()

    def mart_status_frota(self) -> pd.DataFrame:
        rows = []
        days = sorted({ts.date() for ts, _ in self.history})
        for day in days:
            end = datetime.combine(day + timedelta(days=1), datetime.min.time())
            known = [(ts, df) for ts, df in self.history if ts < end]
            latest = known[-1][1] if known else None
            if latest is None:
                continue
            counts = latest["status"].map(lambda s: self.categories.status(text(s))).value_counts()
            for classe, n in counts.items():
                rows.append(
                    {"data": pd.Timestamp(day), "status_classe": classe, "qtd_veiculos": int(n)}
                )
        return pd.DataFrame(rows)


MART_KEYS = {
    "mart_custo_veiculo_mes": ["placa", "mes"],
    "mart_custo_por_km": ["placa"],
    "mart_participacao_preventiva": ["mes"],
    "mart_indisponibilidade": ["placa"],
    "mart_tempo_entre_corretivas": ["placa"],
    "mart_custo_por_tipo": ["tipo_manutencao", "tipo_veiculo"],
    "mart_status_frota": ["data", "status_classe"],
}


def compare(name: str, actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Assert the mart equals the oracle on the oracle's columns (floats to 1e-9 relative)."""
    keys = MART_KEYS[name]
    cols = list(expected.columns)
    assert set(cols) <= set(actual.columns), set(cols) - set(actual.columns)
    a = actual[cols].copy()
    e = expected[cols].copy()
    for df in (a, e):
        for k in keys:
            if k in ("mes", "data"):
                df[k] = pd.to_datetime(df[k])
    a = a.sort_values(keys).reset_index(drop=True)
    e = e.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(e), f"{name}: {len(a)} rows, expected {len(e)}"
    for col in cols:
        if col in keys:
            assert list(a[col]) == list(e[col]), f"{name}.{col} keys differ"
            continue
        av = pd.to_numeric(a[col].astype(object).where(a[col].notna(), None)).astype(float)
        ev = pd.to_numeric(e[col].astype(object).where(e[col].notna(), None)).astype(float)
        bad = ~(((av - ev).abs() <= 1e-9 * ev.abs().clip(lower=1)) | (av.isna() & ev.isna()))
        assert not bad.any(), (
            f"{name}.{col} differs at {e.loc[bad, keys].head(3).to_dict('records')}: "
            f"got {list(av[bad].head(3))}, expected {list(ev[bad].head(3))}"
        )


def test_oracle_status_rule() -> None:
    assert status_classe("Em manutenção") == "em_manutencao"
    assert status_classe("INATIVO") == "inativo"
    assert status_classe("Ativo") == "ativo"
    assert status_classe(None) == "ativo"


def test_fleet_is_deterministic() -> None:
    a, b = Fleet(seed=3), Fleet(seed=3)
    assert a.next_batch(5, 0, 10) == b.next_batch(5, 0, 10)
