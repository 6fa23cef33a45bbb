"""The company's words → frota's categories, written into the warehouse for dbt to join.

`frota.contract.categories` is the one source of truth (built-in words, keywords, fallbacks and
the user's `[categories]` overrides). Before each dbt build, every distinct word the raw layer
holds (status and tipo_veiculo of the vehicle history, `manutencoes.tipo_manutencao`) is classified
with it and written to `raw.frota_categorias` (coluna, palavra, categoria); a missing word is
`''`, so the models join on `coalesce(word, '')`. A raw table rather than a generated dbt seed:
the dbt project is read-only package data, and the table is written in a warehouse
transaction next to the data it describes.

The incremental models keep what they built: a word whose category changes (an override was
added or edited, or frota's built-in words changed) needs them rebuilt. `categoria_construida`
remembers each word's category at the last successful build; until a build with the new
mapping succeeds, every build is a full refresh.
"""

from __future__ import annotations

from frota.contract.categories import Categories
from frota.warehouse.raw import BUILDS, CATEGORIES, HISTORY, RAW_SCHEMA
from frota.warehouse.target import WarehouseConnection, json_pages

# The raw columns classified, and the table each comes from.
SOURCES = (("status", HISTORY), ("tipo_veiculo", HISTORY), ("tipo_manutencao", "manutencoes"))


def classify(wh: WarehouseConnection, categories: Categories) -> dict[tuple[str, str], str]:
    """{(coluna, palavra): categoria} for every distinct word in the raw layer."""
    mapping = {}
    for column, table in SOURCES:
        rows = wh.execute(f"SELECT DISTINCT coalesce({column}, '') FROM {RAW_SCHEMA}.{table}")
        for (word,) in rows:
            mapping[(column, word)] = categories.category(column, word)
    return mapping


def write_categories(wh: WarehouseConnection, categories: Categories) -> bool:
    """Replace raw.frota_categorias with the classification of every word in raw; True when
    the next dbt build must be a full refresh (a word already built changed category)."""
    mapping = classify(wh, categories)
    with wh.transaction():
        old = {
            (column, word): (category, built)
            for column, word, category, built in wh.execute(
                f"SELECT coluna, palavra, categoria, categoria_construida "
                f"FROM {RAW_SCHEMA}.{CATEGORIES}"
            )
        }
        built_before = wh.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.{BUILDS}")[0][0] > 0
        wh.execute(f"DELETE FROM {RAW_SCHEMA}.{CATEGORIES}")
        wh.copy_json(
            CATEGORIES,
            ("coluna", "palavra", "categoria", "categoria_construida"),
            json_pages(
                (*key, category, old.get(key, (None, None))[1]) for key, category in mapping.items()
            ),
        )
    if not old:
        # The first mapping: models built before it classified with dbt's own rules.
        return built_before
    return any(_changed(category, *old[key]) for key, category in mapping.items() if key in old)


def _changed(category: str, last_written: str, last_built: str | None) -> bool:
    # last_written != last_built: a build with the newer mapping failed halfway, and the
    # incremental models may hold either.
    return category != last_written or (last_built is not None and category != last_built)


def mark_built(wh: WarehouseConnection) -> None:
    """After a successful build: the incremental models now hold the current categories."""
    wh.execute(f"UPDATE {RAW_SCHEMA}.{CATEGORIES} SET categoria_construida = categoria")
