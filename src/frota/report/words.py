"""The page's words: written in English in the code (as gettext's msgids), in Portuguese here.

`translator("pt-BR")("Fleet report")` -> "Relatório da frota". A test checks that every text
the report writes has its Portuguese, so the default page never shows an English word.
"""

from __future__ import annotations

from collections.abc import Callable

PT_BR: dict[str, str] = {
    # page
    "Fleet report": "Relatório da frota",
    "Period": "Período",
    "Data up to": "Dados até",
    "Generated on": "Gerado em",
    "Warehouse": "Warehouse",
    "Contents": "Conteúdo",
    "Fleet KPIs": "Indicadores da frota",
    "Definition": "Definição",
    "Definitions follow docs/warehouse.md of frota": (
        "Definições conforme docs/warehouse.md do frota"
    ),
    "not available": "indisponível",
    "No maintenance in this period.": "Nenhuma manutenção neste período.",
    "No vehicle data in this period.": "Nenhum dado de veículos neste período.",
    "The warehouse holds no maintenance yet: the charts appear once `frota warehouse` has "
    "replicated batches with maintenances.": "O warehouse ainda não tem manutenções: os "
    "gráficos aparecem quando o `frota warehouse` tiver replicado lotes com manutenções.",
    "This section could not be read": "Esta seção não pôde ser lida",
    # costs
    "Maintenance cost per month": "Custo de manutenção por mês",
    "Total cost": "Custo total",
    "Preventive": "Preventiva",
    "Corrective": "Corretiva",
    "Other": "Outra",
    "Trend": "Tendência",
    "per month": "por mês",
    "Cost per km (fleet)": "Custo por km (frota)",
    "Σ cost of the maintenances whose service date falls in the month, by category (the row's "
    "own, else that of its maintenance type); the trend is the least-squares line of the "
    "monthly totals of the complete months.": "Σ do custo das manutenções com data de serviço "
    "no mês, por categoria (a da linha, senão a do tipo de manutenção); a tendência é a reta de "
    "mínimos quadrados dos totais dos meses completos.",
    # cost per km
    "Cost per km by vehicle type": "Custo por km por tipo de veículo",
    "Vehicle type": "Tipo de veículo",
    "Cost": "Custo",
    "Distance": "Distância",
    "Cost per km": "Custo por km",
    "Σ maintenance cost ÷ Σ km driven in the period (odometer readings interpolated day by "
    "day; out-of-sequence readings left out), by the vehicle's current type.": "Σ do custo de "
    "manutenção ÷ Σ dos km rodados no período (leituras do hodômetro interpoladas dia a dia; "
    "leituras fora de sequência descartadas), pelo tipo atual do veículo.",
    "(no type)": "(sem tipo)",
    # preventive
    "Preventive share": "Participação preventiva",
    "by services": "por serviços",
    "by cost": "por custo",
    "by visits": "por visitas",
    "Preventive services ÷ all services; by cost, preventive cost ÷ all cost; by visits, shop "
    "visits without a corrective service ÷ all visits.": "Serviços preventivos ÷ todos os "
    "serviços; por custo, custo preventivo ÷ custo total; por visitas, visitas à oficina sem "
    "serviço corretivo ÷ todas as visitas.",
    # availability
    "Availability and downtime": "Disponibilidade e tempo parado",
    "Availability": "Disponibilidade",
    "Days in the shop": "Dias parados na oficina",
    "Vehicle-days in the fleet": "Veículos-dia na frota",
    "(days in the fleet − days in the shop) ÷ days in the fleet; downtime counted per shop "
    "visit (overlapping stays merged), open visits up to the reference date.": "(dias na frota "
    "− dias parados) ÷ dias na frota; tempo parado contado por visita à oficina (estadias "
    "sobrepostas unidas), visitas em aberto até a data de referência.",
    # MTBF / MTTR
    "MTBF and MTTR": "MTBF e MTTR",
    "MTBF (days)": "MTBF (dias)",
    "MTBF (km)": "MTBF (km)",
    "MTTR (days)": "MTTR (dias)",
    "Failures": "Falhas",
    "MTBF = operating days ÷ failures (shop visits with a corrective service), the time since "
    "the last failure included; MTTR = days in the shop of the closed failure visits ÷ their "
    "number.": "MTBF = dias em operação ÷ falhas (visitas à oficina com serviço corretivo), "
    "incluindo o tempo desde a última falha; MTTR = dias parados das visitas de falha "
    "concluídas ÷ seu número.",
    # top vehicles
    "The 10 vehicles with the highest cost": "Os 10 veículos de maior custo",
    "Plate": "Placa",
    "Type": "Tipo",
    "Status": "Situação",
    "Services": "Serviços",
    "The vehicles with the highest maintenance cost in the period, with their type and status "
    "today; cost per km = their cost ÷ their km in the period.": "Os veículos com o maior "
    "custo de manutenção no período, com o tipo e a situação de hoje; custo por km = seu "
    "custo ÷ seus km no período.",
    # status
    "Fleet status": "Situação da frota",
    "Active": "Ativos",
    "In maintenance": "Em manutenção",
    "Inactive": "Inativos",
    "Vehicles": "Veículos",
    "on": "em",
    "Vehicles whose state at the end of each local day is active, in maintenance or inactive "
    "(the categories of the status words, with the [categories] overrides).": "Veículos cuja "
    "situação ao fim de cada dia (hora local) é ativa, em manutenção ou inativa (as categorias "
    "das palavras de status, com os ajustes de [categories]).",
    # pipeline health
    "Pipeline health": "Saúde do pipeline",
    "Batches and rows per day": "Lotes e linhas por dia",
    "Day": "Dia",
    "Batches": "Lotes",
    "Rows": "Linhas",
    "Rows loaded per day (the warehouse's ledger), the last 30 days.": "Linhas carregadas por "
    "dia (registro do warehouse), últimos 30 dias.",
    "Freshness per source": "Atualização por origem",
    "Source": "Origem",
    "Newest batch": "Lote mais recente",
    "Age": "Idade",
    "Last warehouse build": "Último build do warehouse",
    "No batch has reached the warehouse yet.": "Nenhum lote chegou ao warehouse ainda.",
    "No batch in the last 30 days.": "Nenhum lote nos últimos 30 dias.",
    "The newest batch of each source that reached the warehouse, and its age.": "O lote mais "
    "recente de cada origem que chegou ao warehouse, e sua idade.",
}


def translator(lang: str) -> Callable[[str], str]:
    """The page's words in `lang` ("pt-BR" or "en")."""
    if lang == "en":
        return lambda text: text
    return lambda text: PT_BR.get(text, text)
