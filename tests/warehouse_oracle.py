"""An independent computation of every warehouse mart, in plain Python over the operational
database: the oracle the dbt models are compared with (docs/warehouse.md's definitions).

It shares nothing with the SQL but the definitions: versions from the vehicle rows each batch
wrote, downtime day by day (is the vehicle in the fleet at the end of the day? in the shop?),
visits by merging intervals in a loop, kilometres by walking each day between two readings.
Words are classified with frota.contract.categories and the same `[categories]` overrides the
warehouse got.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from frota.contract.categories import Categories
from frota.db import schema

END = datetime(9999, 12, 31)
CLASSES = ("ativo", "em_manutencao", "inativo")


def text(value: object) -> str | None:
    """A text cell of a DataFrame, None for a missing one (pandas gives NaN or None)."""
    return value if isinstance(value, str) else None


def month(day: date) -> date:
    return day.replace(day=1)


def month_after(mes: date) -> date:
    return (mes.replace(day=28) + timedelta(days=4)).replace(day=1)


def odometer_on(points: list[tuple[date, int]], day: date) -> Decimal:
    """The odometer at the end of `day`, linear between the valid readings around it, to the
    metre (half up): a month's km is its value at the month's end minus at the day before."""
    for (d0, k0), (d1, k1) in zip(points, points[1:], strict=False):
        if d0 <= day <= d1:
            metres = Fraction(1000 * k0) + Fraction(
                1000 * (k1 - k0) * (day - d0).days, (d1 - d0).days
            )
            return Decimal(math.floor(metres + Fraction(1, 2))) / 1000
    raise ValueError(f"{day} is outside the readings")


def days(start: date, stop: date):  # noqa: ANN201 - a generator of dates
    """The days of [start, stop)."""
    for n in range((stop - start).days):
        yield start + timedelta(days=n)


def _naive_date(value: object) -> date | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value  # a date


@dataclass
class Version:
    placa: str
    versao: int
    status: str | None
    tipo_veiculo: str | None
    valido_de: datetime
    valido_ate: datetime = END

    def in_force_at(self, moment: datetime) -> bool:
        return self.valido_de <= moment < self.valido_ate


@dataclass
class Visit:
    placa: str
    entrada: date
    saida: date | None  # None: open
    servicos: list[dict] = field(default_factory=list)

    @property
    def corretiva(self) -> bool:
        return any(s["categoria"] == "corretiva" for s in self.servicos)


@dataclass
class Oracle:
    """The operational database as the warehouse replicated it, batch by batch."""

    categories: Categories = field(default_factory=Categories)
    timezone: str = "America/Sao_Paulo"
    snapshots: list[dict] = field(default_factory=list)
    batches: dict[str, dict] = field(default_factory=dict)
    manutencoes: pd.DataFrame | None = None

    # ------------------------------------------------------------------ reading the source

    def record(self, engine: sa.Engine, batch_id: str) -> None:
        """After a batch loads: its ledger row and the vehicle states it applied (the
        operational history, each at its own time: a late batch's older states too)."""
        b, h = schema.batches, schema.vehicle_history
        with engine.connect() as conn:
            source, as_of = conn.execute(
                sa.select(b.c.source, b.c.as_of).where(b.c.batch_id == batch_id)
            ).one()
            at = as_of.replace(tzinfo=None)  # when its data were true (naive UTC)
            self.batches[batch_id] = {"source": source, "at": at}
            for row in conn.execute(sa.select(h).where(h.c.lote_id == batch_id)).mappings():
                self.snapshots.append({**row, "at": row["vigente_desde"]})

    def finish(self, engine: sa.Engine) -> None:
        """The maintenances as they stand at the end: changed records as last changed,
        retired ones left out."""
        m = schema.manutencoes
        with engine.connect() as conn:
            df = pd.read_sql(sa.select(m).where(m.c.retirada_lote.is_(None)), conn)
        df["custo"] = df["custo"].astype(float)
        for col in ("data_manutencao", "data_conclusao"):
            df[col] = [_naive_date(x) for x in df[col]]
        self.manutencoes = df

    def copy(self, **changes: object) -> Oracle:
        fields_ = {
            "categories": self.categories,
            "timezone": self.timezone,
            "snapshots": list(self.snapshots),
            "batches": dict(self.batches),
            "manutencoes": self.manutencoes,
        }
        return Oracle(**{**fields_, **changes})

    def local(self, utc: datetime) -> datetime:
        return utc.replace(tzinfo=UTC).astimezone(ZoneInfo(self.timezone)).replace(tzinfo=None)

    # ------------------------------------------------------------------ the dimension

    def versions(self) -> dict[str, list[Version]]:
        """SCD2: a new version whenever (status, tipo) differs from the previous state, in
        version order (vigente_desde, ordem, history id)."""
        by_plate: dict[str, list[dict]] = defaultdict(list)
        for snap in self.snapshots:
            by_plate[snap["placa"]].append(snap)
        out: dict[str, list[Version]] = {}
        for placa, snaps in by_plate.items():
            snaps.sort(key=lambda s: (s["at"], s["ordem"], s["id"]))
            versions: list[Version] = []
            for s in snaps:
                state = (s["status"], s["tipo_veiculo"])
                if versions and (versions[-1].status, versions[-1].tipo_veiculo) == state:
                    continue
                since = self.local(s["at"])
                if versions:
                    versions[-1].valido_ate = since
                versions.append(Version(placa, len(versions) + 1, *state, since))
            acquired = snaps[-1]["data_aquisicao"]
            if acquired is not None:
                midnight = datetime.combine(acquired, datetime.min.time())
                versions[0].valido_de = min(versions[0].valido_de, midnight)
            out[placa] = versions
        return out

    def dim(self) -> pd.DataFrame:
        rows = []
        for versions in self.versions().values():
            for v in versions:
                rows.append(
                    {
                        "placa": v.placa,
                        "versao": v.versao,
                        "status": v.status,
                        "tipo_veiculo": v.tipo_veiculo,
                        "status_classe": self.categories.status(v.status),
                        "tipo_veiculo_classe": self.categories.vehicle_type(v.tipo_veiculo),
                        "valido_de": v.valido_de,
                        "valido_ate": v.valido_ate,
                        "is_atual": v.valido_ate == END,
                    }
                )
        return pd.DataFrame(rows)

    def end_of_day(self, versions: list[Version], day: date) -> Version | None:
        """The version that is the vehicle's state at the end of `day`."""
        moment = datetime.combine(day + timedelta(days=1), datetime.min.time())
        for v in versions:
            if v.valido_de < moment <= v.valido_ate:
                return v
        return None

    # ------------------------------------------------------------------ the facts

    def sources_with_completions(self) -> set[str]:
        m = self.manutencoes
        assert m is not None
        done = {lote for lote, c in zip(m.lote_id, m.data_conclusao, strict=True) if c}
        return {self.batches[lote]["source"] for lote in done}

    def services(self) -> list[dict]:
        """Each maintenance with its category, source and the vehicle on the service day."""
        assert self.manutencoes is not None
        versions = self.versions()
        recording = self.sources_with_completions()
        out = []
        for row in self.manutencoes.to_dict("records"):
            day = row["data_manutencao"]
            start = datetime.combine(day, datetime.min.time())
            vs = versions.get(row["placa_veiculo"], [])
            v = next((x for x in vs if x.in_force_at(start)), None)
            presumed = v is None and bool(vs)
            v = v or (vs[0] if vs else None)
            given = text(row["categoria"])
            out.append(
                {
                    **row,
                    "placa": row["placa_veiculo"],
                    "categoria": given or self.categories.maintenance(text(row["tipo_manutencao"])),
                    "categoria_inferida": given is None,
                    "tipo_veiculo": v.tipo_veiculo if v else None,
                    "status": v.status if v else None,
                    "versao_presumida": presumed,
                    "registra_conclusao": self.batches[row["lote_id"]]["source"] in recording,
                    "mes": month(day),
                }
            )
        return out

    def period(self) -> tuple[date, date]:
        """(first day of the month of the earliest maintenance, reference date)."""
        assert self.manutencoes is not None
        reference = max(self.local(b["at"]).date() for b in self.batches.values())
        if len(self.manutencoes):
            return month(min(self.manutencoes.data_manutencao)), reference
        return month(min(self.local(b["at"]).date() for b in self.batches.values())), reference

    def visits(self) -> list[Visit]:
        """Shop stays: a vehicle's services merged while each enters by the day the stay's
        latest exit so far (an open service never exits)."""
        by_plate: dict[str, list[dict]] = defaultdict(list)
        for s in self.services():
            by_plate[s["placa"]].append(s)
        visits = []
        for placa, services in by_plate.items():
            for s in services:
                if s["data_conclusao"]:
                    s["saida"] = s["data_conclusao"]
                else:
                    s["saida"] = None if s["registra_conclusao"] else s["data_manutencao"]
            services.sort(key=lambda s: (s["data_manutencao"], s["saida"] or END.date(), s["id"]))
            current: Visit | None = None
            latest_exit: date | None = None
            for s in services:
                exit_ = s["saida"] or END.date()
                if current is None or s["data_manutencao"] > latest_exit:
                    current = Visit(placa, s["data_manutencao"], s["saida"])
                    visits.append(current)
                    latest_exit = exit_
                latest_exit = max(latest_exit, exit_)
                current.servicos.append(s)
                current.saida = None if latest_exit == END.date() else latest_exit
        return visits

    def visit_days(self, visit: Visit) -> int:
        _, reference = self.period()
        return max(((visit.saida or reference) - visit.entrada).days, 0)

    # ------------------------------------------------------------------ odometer

    def readings(self) -> dict[str, list[tuple[date, int]]]:
        out: dict[str, list[tuple[date, int]]] = defaultdict(list)
        for s in self.services():
            if s["quilometragem"] == s["quilometragem"] and s["quilometragem"] is not None:
                out[s["placa"]].append((s["data_manutencao"], int(s["quilometragem"])))
        for snap in self.snapshots:
            if snap["quilometragem_total"] is not None:
                day = self.local(snap["at"]).date()
                out[snap["placa"]].append((day, int(snap["quilometragem_total"])))
        return out

    def odometer_months(self) -> dict[tuple[str, date], dict]:
        """Per (placa, month): km driven (a float, and exact to the metre), readings, readings
        out of sequence, first/last."""
        out: dict[tuple[str, date], dict] = defaultdict(
            lambda: {"km": 0.0, "km_exato": Decimal(0), "leituras": 0, "fora": 0, "validas": []}
        )
        for placa, readings in self.readings().items():
            readings.sort()
            highest = None
            valid: dict[date, int] = {}
            for day, km in readings:
                cell = out[(placa, month(day))]
                cell["leituras"] += 1
                if highest is not None and km < highest:
                    cell["fora"] += 1
                    continue
                highest = km if highest is None else max(highest, km)
                valid[day] = max(valid.get(day, km), km)
                cell["validas"].append((day, km))
            points = sorted(valid.items())
            if len(points) < 2:
                continue
            first, last = points[0][0], points[-1][0]
            mes = month(first + timedelta(days=1))
            while mes <= last:  # the months a day carrying distance falls in
                end = min(month_after(mes) - timedelta(days=1), last)
                start = max(mes - timedelta(days=1), first)
                driven = odometer_on(points, end) - odometer_on(points, start)
                out[(placa, mes)]["km"] = float(driven)
                out[(placa, mes)]["km_exato"] = driven
                mes = month_after(mes)
        return out

    # ------------------------------------------------------------------ the marts

    def mart_custo_veiculo_mes(self) -> pd.DataFrame:
        cost: dict[tuple[str, date], dict] = defaultdict(
            lambda: {"n": 0, "total": 0.0, "prev": 0.0, "corr": 0.0}
        )
        for s in self.services():
            c = cost[(s["placa"], s["mes"])]
            c["n"] += 1
            c["total"] += s["custo"]
            c["prev"] += s["custo"] if s["categoria"] == "preventiva" else 0.0
            c["corr"] += s["custo"] if s["categoria"] == "corretiva" else 0.0
        km = {k: v["km"] for k, v in self.odometer_months().items() if v["km"] > 0}
        rows = []
        for key in set(cost) | set(km):
            c = cost.get(key, {"n": 0, "total": 0.0, "prev": 0.0, "corr": 0.0})
            k = km.get(key, 0.0)
            rows.append(
                {
                    "placa": key[0],
                    "mes": key[1],
                    "qtd_manutencoes": c["n"],
                    "custo_total": c["total"],
                    "custo_preventiva": c["prev"],
                    "custo_corretiva": c["corr"],
                    "km_percorridos": k,
                    "custo_por_km": c["total"] / k if k else None,
                }
            )
        return pd.DataFrame(rows)

    def mart_custo_por_km(self) -> pd.DataFrame:
        per: dict[str, dict] = defaultdict(
            lambda: {"n": 0, "custo": 0.0, "leituras": 0, "fora": 0, "validas": []}
        )
        for s in self.services():
            per[s["placa"]]["n"] += 1
            per[s["placa"]]["custo"] += s["custo"]
        for (placa, _), cell in self.odometer_months().items():
            p = per[placa]
            p["leituras"] += cell["leituras"]
            p["fora"] += cell["fora"]
            p["validas"] += cell["validas"]
        rows = []
        for placa, p in per.items():
            valid = sorted(p["validas"])
            first = min(k for _, k in valid) if valid else None
            last = max(k for _, k in valid) if valid else None
            km = last - first if valid else 0  # km driven between the first and last reading
            rows.append(
                {
                    "placa": placa,
                    "qtd_manutencoes": p["n"],
                    "custo_total": p["custo"],
                    "qtd_leituras": p["leituras"],
                    "qtd_leituras_fora_de_sequencia": p["fora"],
                    "km_inicial": first,
                    "km_final": last,
                    "km_percorridos": km,
                    "custo_por_km": p["custo"] / km if km else None,
                }
            )
        return pd.DataFrame(rows)

    def mart_participacao_preventiva(self) -> pd.DataFrame:
        months: dict[date, dict] = defaultdict(lambda: defaultdict(float))
        for s in self.services():
            m = months[s["mes"]]
            m[s["categoria"]] += 1
            m["custo_" + s["categoria"]] += s["custo"]
            m["inferida"] += s["categoria_inferida"]
        for v in self.visits():
            months[month(v.entrada)]["v_corr" if v.corretiva else "v_prev"] += 1
        rows = []
        for mes, m in months.items():
            n, c = m["preventiva"] + m["corretiva"], m["custo_preventiva"] + m["custo_corretiva"]
            nv = m["v_prev"] + m["v_corr"]
            rows.append(
                {
                    "mes": mes,
                    "qtd_preventiva": m["preventiva"],
                    "qtd_corretiva": m["corretiva"],
                    "qtd_categoria_inferida": m["inferida"],
                    "custo_preventiva": m["custo_preventiva"],
                    "custo_corretiva": m["custo_corretiva"],
                    "qtd_visitas_preventivas": m["v_prev"],
                    "qtd_visitas_corretivas": m["v_corr"],
                    "participacao_preventiva_qtd": m["preventiva"] / n if n else None,
                    "participacao_preventiva_custo": m["custo_preventiva"] / c if c else None,
                    "participacao_preventiva_visitas": m["v_prev"] / nv if nv else None,
                }
            )
        return pd.DataFrame(rows)

    def mart_custo_por_tipo(self) -> pd.DataFrame:
        groups: dict[tuple[str, str], list[float]] = defaultdict(list)
        for s in self.services():
            key = (
                text(s["tipo_manutencao"]) or "(não informado)",
                s["tipo_veiculo"] or "(não informado)",
            )
            groups[key].append(s["custo"])
        return pd.DataFrame(
            [
                {
                    "tipo_manutencao": t,
                    "tipo_veiculo": v,
                    "qtd_manutencoes": len(c),
                    "custo_total": sum(c),
                }
                for (t, v), c in groups.items()
            ]
        )

    def vehicle_months(self) -> dict[tuple[str, date], dict]:
        """Day by day over the period: in the fleet at the end of the day, in the shop."""
        start, reference = self.period()
        versions = self.versions()
        visits = self.visits()
        by_plate: dict[str, list[Visit]] = defaultdict(list)
        for v in visits:
            by_plate[v.placa].append(v)
        cells: dict[tuple[str, date], dict] = defaultdict(lambda: defaultdict(float))
        for placa, vs in versions.items():
            for day in days(start, reference + timedelta(days=1)):
                state = self.end_of_day(vs, day)
                if state is None or self.categories.status(state.status) == "inativo":
                    continue
                cell = cells[(placa, month(day))]
                cell["na_frota"] += 1
                if any(v.entrada <= day < (v.saida or reference) for v in by_plate.get(placa, [])):
                    cell["parado"] += 1
        for v in visits:
            if not start <= v.entrada <= reference:
                continue
            cell = cells[(v.placa, month(v.entrada))]
            cell["visitas"] += 1
            cell["abertas"] += v.saida is None
            cell["falhas"] += v.corretiva
            if v.corretiva and v.saida is not None:
                cell["reparos"] += 1
                cell["dias_reparo"] += self.visit_days(v)
        for (placa, mes), odo in self.odometer_months().items():
            if start <= mes <= reference and odo["km"] > 0:
                cells[(placa, mes)]["km"] += odo["km"]
        return cells

    def mart_disponibilidade_veiculo_mes(self) -> pd.DataFrame:
        rows = []
        for (placa, mes), c in self.vehicle_months().items():
            rows.append(
                {
                    "placa": placa,
                    "mes": mes,
                    "dias_na_frota": c["na_frota"],
                    "dias_parado": c["parado"],
                    "dias_operacao": c["na_frota"] - c["parado"],
                    "disponibilidade": (
                        (c["na_frota"] - c["parado"]) / c["na_frota"] if c["na_frota"] else None
                    ),
                    "qtd_visitas": c["visitas"],
                    "qtd_visitas_em_aberto": c["abertas"],
                    "qtd_falhas": c["falhas"],
                    "qtd_reparos": c["reparos"],
                    "dias_reparo": c["dias_reparo"],
                    "km_percorridos": c["km"],
                }
            )
        return pd.DataFrame(rows)

    def mart_disponibilidade_frota_mes(self) -> pd.DataFrame:
        months: dict[date, dict] = defaultdict(lambda: defaultdict(float))
        for (_, mes), c in self.vehicle_months().items():
            m = months[mes]
            m["veiculos"] += c["na_frota"] > 0
            for key in ("na_frota", "parado", "visitas", "abertas", "falhas", "reparos"):
                m[key] += c[key]
            m["dias_reparo"] += c["dias_reparo"]
            m["km"] += c["km"]
        rows = []
        for mes, m in months.items():
            operacao = m["na_frota"] - m["parado"]
            rows.append(
                {
                    "mes": mes,
                    "qtd_veiculos": m["veiculos"],
                    "dias_na_frota": m["na_frota"],
                    "dias_parado": m["parado"],
                    "dias_operacao": operacao,
                    "disponibilidade": operacao / m["na_frota"] if m["na_frota"] else None,
                    "qtd_visitas": m["visitas"],
                    "qtd_visitas_em_aberto": m["abertas"],
                    "qtd_falhas": m["falhas"],
                    "mtbf_dias": operacao / m["falhas"] if m["falhas"] else None,
                    "mtbf_km": m["km"] / m["falhas"] if m["falhas"] else None,
                    "qtd_reparos": m["reparos"],
                    "dias_reparo": m["dias_reparo"],
                    "mttr_dias": m["dias_reparo"] / m["reparos"] if m["reparos"] else None,
                    "km_percorridos": m["km"],
                }
            )
        return pd.DataFrame(rows)

    def mart_mtbf_mttr(self) -> pd.DataFrame:
        start, reference = self.period()
        per: dict[str, dict] = defaultdict(lambda: defaultdict(float))
        for (placa, _), c in self.vehicle_months().items():
            for key, value in c.items():
                per[placa][key] += value
        last_failure: dict[str, date] = {}
        for v in self.visits():
            if v.corretiva and start <= v.entrada <= reference:
                last_failure[v.placa] = max(v.entrada, last_failure.get(v.placa, v.entrada))
        rows = []
        for placa, p in per.items():
            operacao = p["na_frota"] - p["parado"]
            last = last_failure.get(placa)
            rows.append(
                {
                    "placa": placa,
                    "dias_na_frota": p["na_frota"],
                    "dias_parado": p["parado"],
                    "dias_operacao": operacao,
                    "qtd_falhas": p["falhas"],
                    "mtbf_dias": operacao / p["falhas"] if p["falhas"] else None,
                    "km_percorridos": p["km"],
                    "mtbf_km": p["km"] / p["falhas"] if p["falhas"] else None,
                    "qtd_reparos": p["reparos"],
                    "dias_reparo": p["dias_reparo"],
                    "mttr_dias": p["dias_reparo"] / p["reparos"] if p["reparos"] else None,
                    "dias_desde_ultima_falha": (reference - last).days if last else None,
                }
            )
        return pd.DataFrame(rows)

    def mart_status_frota(self) -> pd.DataFrame:
        start, reference = self.period()
        versions = self.versions()
        rows = []
        for day in days(start, reference + timedelta(days=1)):
            counts = dict.fromkeys(CLASSES, 0)
            for vs in versions.values():
                state = self.end_of_day(vs, day)
                if state is not None:
                    counts[self.categories.status(state.status)] += 1
            rows += [
                {"data": day, "status_classe": c, "qtd_veiculos": n} for c, n in counts.items()
            ]
        return pd.DataFrame(rows)

    def fct_visitas_oficina(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "placa": v.placa,
                    "data_entrada": v.entrada,
                    "data_saida": v.saida,
                    "em_aberto": v.saida is None,
                    "corretiva": v.corretiva,
                    "dias_parado": self.visit_days(v),
                    "qtd_servicos": len(v.servicos),
                    "custo_total": sum(s["custo"] for s in v.servicos),
                }
                for v in self.visits()
            ]
        )


MART_KEYS = {
    "mart_custo_veiculo_mes": ["placa", "mes"],
    "mart_custo_por_km": ["placa"],
    "mart_participacao_preventiva": ["mes"],
    "mart_custo_por_tipo": ["tipo_manutencao", "tipo_veiculo"],
    "mart_disponibilidade_veiculo_mes": ["placa", "mes"],
    "mart_disponibilidade_frota_mes": ["mes"],
    "mart_mtbf_mttr": ["placa"],
    "mart_status_frota": ["data", "status_classe"],
    "fct_visitas_oficina": ["placa", "data_entrada"],
}
