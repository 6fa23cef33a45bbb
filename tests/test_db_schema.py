"""`frota db init` (= upgrade from empty): the original DDL exactly (types, keys, FK), on every
backend."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from frota.db.engine import create_engine
from frota.db.migrate import head, upgrade_schema


def test_init_is_idempotent_and_creates_the_contract(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        first = upgrade_schema(engine)
        assert (first.before, first.after, first.adopted) == (None, head(), False)
        again = upgrade_schema(engine)
        assert (again.before, again.after, again.changed) == (head(), head(), False)
        insp = sa.inspect(engine)
        assert {"veiculos", "manutencoes", "frota_batches", "frota_quarantine"} <= set(
            insp.get_table_names()
        )
        v = {c["name"]: c for c in insp.get_columns("veiculos")}
        m = {c["name"]: c for c in insp.get_columns("manutencoes")}
        assert insp.get_pk_constraint("veiculos")["constrained_columns"] == ["placa"]
        assert insp.get_pk_constraint("manutencoes")["constrained_columns"] == ["id"]
        [fk] = insp.get_foreign_keys("manutencoes")
        assert (fk["constrained_columns"], fk["referred_table"], fk["referred_columns"]) == (
            ["placa_veiculo"],
            "veiculos",
            ["placa"],
        )
        assert v["placa"]["type"].length == 10
        assert v["tipo_veiculo"]["type"].length == 50
        assert v["status"]["type"].length == 50
        assert m["tipo_manutencao"]["type"].length == 100
        assert isinstance(v["quilometragem_total"]["type"], sa.Integer)
        assert isinstance(v["data_aquisicao"]["type"], sa.Date)
        assert isinstance(m["data_manutencao"]["type"], sa.Date)
        assert (m["custo"]["type"].precision, m["custo"]["type"].scale) == (10, 2)
        for optional in ("quilometragem", "categoria", "data_conclusao", "lote_id"):
            assert m[optional]["nullable"]
        assert v["lote_id"]["nullable"]
    finally:
        engine.dispose()


@pytest.mark.mysql
def test_mysql_tables_are_innodb_utf8mb4_autoincrement(mysql_url: str) -> None:
    engine = create_engine(mysql_url)
    try:
        upgrade_schema(engine)
        with engine.connect() as conn:
            ddl = conn.execute(sa.text("SHOW CREATE TABLE manutencoes")).one()[1]
            has_0900 = conn.execute(
                sa.text(
                    "SELECT COUNT(*) FROM information_schema.COLLATIONS "
                    "WHERE COLLATION_NAME = 'utf8mb4_0900_ai_ci'"
                )
            ).scalar()
        assert "ENGINE=InnoDB" in ddl and "CHARSET=utf8mb4" in ddl
        assert (
            "`id` int(11) NOT NULL AUTO_INCREMENT" in ddl
            or "`id` int NOT NULL AUTO_INCREMENT" in ddl
        )
        assert "`custo` decimal(10,2)" in ddl
        assert "FOREIGN KEY (`placa_veiculo`) REFERENCES `veiculos` (`placa`)" in ddl
        assert ("utf8mb4_0900_ai_ci" in ddl) == bool(has_0900)
    finally:
        engine.dispose()
