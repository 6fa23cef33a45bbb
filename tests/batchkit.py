"""Small helpers to write batches by hand in tests (the real publish path, hand-made CSVs)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from frota.config import Settings
from frota.db.engine import create_engine
from frota.db.migrate import upgrade_schema
from frota.landing import open_landing
from frota.publish import PublishResult, publish_dir

VEIC_HEADER = "placa,tipo_veiculo,status,quilometragem_total,data_aquisicao"
MANUT_HEADER = (
    "placa_veiculo,tipo_manutencao,data_manutencao,custo,quilometragem,categoria,data_conclusao"
)
T0 = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)
TODAY = date(2026, 6, 30)


def write_batch_dir(
    folder: Path, veiculos: list[str] | None = None, manutencoes: list[str] | None = None
) -> Path:
    """A folder with canonical CSVs made of the given data lines."""
    folder.mkdir(parents=True, exist_ok=True)
    if veiculos is not None:
        (folder / "veiculos.csv").write_text(
            "\n".join([VEIC_HEADER, *veiculos]) + "\n", encoding="utf-8"
        )
    if manutencoes is not None:
        (folder / "manutencoes.csv").write_text(
            "\n".join([MANUT_HEADER, *manutencoes]) + "\n", encoding="utf-8"
        )
    return folder


def publish_lines(
    tmp: Path, landing: str, n: int, veiculos=None, manutencoes=None, source: str = "test"
) -> PublishResult:
    """Publish hand-made lines as a batch created at T0 + n minutes (so ids sort by n)."""
    folder = write_batch_dir(tmp / f"src-{n}-{source}", veiculos, manutencoes)
    return publish_dir(folder, open_landing(landing), source, now=T0 + timedelta(minutes=n))


def settings_for(tmp: Path, db_url: str) -> Settings:
    return Settings(
        landing=str(tmp / "landing"),
        database=db_url,
        outbox=str(tmp / "outbox"),
        log_dir=str(tmp / "logs"),
    )


def init_db(db_url: str) -> None:
    engine = create_engine(db_url)
    upgrade_schema(engine)
    engine.dispose()


def query(db_url: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


V1_LINES = [
    "ABC1234,Caminhão Toco,ativo,120000,2019-03-01",
    "BRA2E19,Van,ativo,45000,2021-07-15",
]
M1_LINES = [
    "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-05",
    "BRA2E19,Freios,2026-01-06,1234.56,44800,corretiva,2026-01-09",
]


def load_one(tmp: Path, db_url: str, veiculos=None, manutencoes=None):
    """A fresh database with one batch of these lines loaded: (settings, its BatchResult)."""
    from frota.load import load_pending

    init_db(db_url)
    s = settings_for(tmp, db_url)
    publish_lines(tmp, s.landing, 1, veiculos, manutencoes)
    [batch] = load_pending(s, today=TODAY).loaded
    return s, batch
