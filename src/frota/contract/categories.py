"""The company's own words -> frota's canonical categories, for the KPIs (the one source of
truth: the warehouse classifies every word with it before each dbt build, see
frota.warehouse.categories).

`tipo_veiculo`, `status` and `tipo_manutencao` are stored exactly as the company writes them
("Caminhão Toco", "Em manutenção", "Troca de óleo"); they are never rejected for being
unfamiliar. This module assigns each word a canonical category:

1. an override from `[categories.<column>]` in frota.toml (exact word, ignoring case, accents
   and spacing), then
2. the built-in words below, then
3. keywords (`manuten` -> em_manutencao, `reparo` -> corretiva…), then
4. the column's fallback (`ativo`, `outro`, `corretiva`).

    [categories.status]
    "Rodando" = "ativo"
    [categories.tipo_veiculo]
    "Bitruck" = "caminhao"
    [categories.tipo_manutencao]
    "Higienização" = "preventiva"
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

STATUS = ("ativo", "em_manutencao", "inativo")
VEHICLE_TYPES = (
    "moto",
    "carro",
    "utilitario",
    "van",
    "caminhao_leve",
    "caminhao",
    "cavalo_mecanico",
    "onibus",
    "maquina",
    "outro",
)
MAINTENANCE = ("preventiva", "corretiva")

# column -> (accepted categories, fallback)
COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "status": (STATUS, "ativo"),
    "tipo_veiculo": (VEHICLE_TYPES, "outro"),
    "tipo_manutencao": (MAINTENANCE, "corretiva"),
}


def word_key(word: str) -> str:
    """`  Em Manutenção ` -> `em manutencao`: case, accents and spacing do not matter."""
    text = unicodedata.normalize("NFKD", word)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return " ".join(text.replace("_", " ").replace("-", " ").split())


# Exact words (compared by word_key). The generator's own vocabulary is included.
_WORDS: dict[str, dict[str, str]] = {
    "status": {
        "ativo": "ativo",
        "ativa": "ativo",
        "em operacao": "ativo",
        "em uso": "ativo",
        "disponivel": "ativo",
        "rodando": "ativo",
        "em manutencao": "em_manutencao",
        "manutencao": "em_manutencao",
        "na oficina": "em_manutencao",
        "oficina": "em_manutencao",
        "parado para manutencao": "em_manutencao",
        "aguardando peca": "em_manutencao",
        "inativo": "inativo",
        "inativa": "inativo",
        "baixado": "inativo",
        "vendido": "inativo",
        "sucata": "inativo",
        "desativado": "inativo",
        "roubado": "inativo",
        "furtado": "inativo",
        "sinistrado": "inativo",
    },
    "tipo_veiculo": {
        "moto": "moto",
        "motocicleta": "moto",
        "carro": "carro",
        "automovel": "carro",
        "passeio": "carro",
        "utilitario": "utilitario",
        "pickup": "utilitario",
        "pick up": "utilitario",
        "picape": "utilitario",
        "van": "van",
        "furgao": "van",
        "vuc": "caminhao_leve",
        "caminhao 3/4": "caminhao_leve",
        "caminhao toco": "caminhao",
        "caminhao truck": "caminhao",
        "caminhao": "caminhao",
        "truck": "caminhao",
        "toco": "caminhao",
        "bitruck": "caminhao",
        "cavalo mecanico": "cavalo_mecanico",
        "carreta": "cavalo_mecanico",
        "onibus": "onibus",
        "micro onibus": "onibus",
        "microonibus": "onibus",
        "empilhadeira": "maquina",
        "trator": "maquina",
    },
    "tipo_manutencao": {
        "troca de oleo": "preventiva",
        "troca de oleo e filtros": "preventiva",
        "revisao": "preventiva",
        "revisao preventiva": "preventiva",
        "alinhamento e balanceamento": "preventiva",
        "troca de pneus": "preventiva",
        "revisao do sistema de freios": "preventiva",
        "troca do kit relacao": "preventiva",
        "troca de pneu avariado": "corretiva",
        "troca de embreagem": "corretiva",
        "troca de bateria": "corretiva",
        "funilaria e pintura": "corretiva",
    },
}

# Keywords (substrings of word_key), tried in order after the exact words.
_KEYWORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "status": (
        ("manuten", "em_manutencao"),
        ("maint", "em_manutencao"),  # English exports: "In maintenance"
        ("oficina", "em_manutencao"),
        ("conserto", "em_manutencao"),
        ("inativ", "inativo"),
        ("inactiv", "inativo"),
        ("desativ", "inativo"),
        ("baixad", "inativo"),
        ("vendid", "inativo"),
        ("sucat", "inativo"),
        ("roubad", "inativo"),
        ("furtad", "inativo"),
        ("sinistr", "inativo"),
        ("ativ", "ativo"),
    ),
    "tipo_veiculo": (
        ("moto", "moto"),
        ("cavalo", "cavalo_mecanico"),
        ("carreta", "cavalo_mecanico"),
        ("bitrem", "cavalo_mecanico"),
        ("rodotrem", "cavalo_mecanico"),
        ("onibus", "onibus"),
        ("vuc", "caminhao_leve"),
        ("3/4", "caminhao_leve"),
        ("caminhonete", "utilitario"),
        ("caminhao", "caminhao"),
        ("truck", "caminhao"),
        ("van", "van"),
        ("furgao", "van"),
        ("utilit", "utilitario"),
        ("pick", "utilitario"),
        ("picape", "utilitario"),
        ("carro", "carro"),
        ("sedan", "carro"),
        ("hatch", "carro"),
        ("empilhadeira", "maquina"),
        ("trator", "maquina"),
    ),
    "tipo_manutencao": (
        ("corretiv", "corretiva"),
        ("reparo", "corretiva"),
        ("conserto", "corretiva"),
        ("avari", "corretiva"),
        ("quebr", "corretiva"),
        ("guincho", "corretiva"),
        ("socorro", "corretiva"),
        ("sinistro", "corretiva"),
        ("preventiv", "preventiva"),
        ("revisao", "preventiva"),
        ("oleo", "preventiva"),
        ("filtro", "preventiva"),
        ("alinhamento", "preventiva"),
        ("balanceamento", "preventiva"),
        ("lubrifica", "preventiva"),
        ("inspecao", "preventiva"),
        ("calibragem", "preventiva"),
        ("rodizio", "preventiva"),
    ),
}


def check_overrides(triples: Iterable[tuple[str, str, str]]) -> tuple[tuple[str, str, str], ...]:
    """Validate (column, word, category) overrides; ValueError names the bad one."""
    checked = []
    for column, word, category in triples:
        if column not in COLUMNS:
            raise ValueError(f"unknown column {column!r} (use {', '.join(COLUMNS)})")
        accepted = COLUMNS[column][0]
        if category not in accepted:
            raise ValueError(
                f"{column}: {word!r} = {category!r} is not a category (use {', '.join(accepted)})"
            )
        checked.append((column, word, category))
    return tuple(checked)


@dataclass(frozen=True)
class Categories:
    """A category mapping: built-in defaults plus overrides (see the module docstring)."""

    overrides: tuple[tuple[str, str, str], ...] = ()
    _exact: dict[str, dict[str, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        exact = {column: dict(words) for column, words in _WORDS.items()}
        for column, word, category in check_overrides(self.overrides):
            exact[column][word_key(word)] = category
        object.__setattr__(self, "_exact", exact)

    @classmethod
    def from_settings(cls, settings: Any) -> Categories:
        return cls(tuple(getattr(settings, "categories", ()) or ()))

    def category(self, column: str, word: str | None) -> str:
        """The canonical category of `word` in `column` (the fallback for empty/unknown)."""
        fallback = COLUMNS[column][1]
        key = word_key(word or "")
        if not key:
            return fallback
        found = self._exact[column].get(key)
        if found:
            return found
        for keyword, category in _KEYWORDS[column]:
            if keyword in key:
                return category
        return fallback

    def status(self, word: str | None) -> str:
        return self.category("status", word)

    def vehicle_type(self, word: str | None) -> str:
        return self.category("tipo_veiculo", word)

    def maintenance(self, tipo: str | None) -> str:
        return self.category("tipo_manutencao", tipo)


@lru_cache(maxsize=1)
def _default() -> Categories:
    return Categories()


def canonical_status(word: str | None, categories: Categories | None = None) -> str:
    """`Em manutenção` -> `em_manutencao`; one of STATUS (fallback `ativo`)."""
    return (categories or _default()).status(word)


def canonical_vehicle_type(word: str | None, categories: Categories | None = None) -> str:
    """`Caminhão Toco` -> `caminhao`; one of VEHICLE_TYPES (fallback `outro`)."""
    return (categories or _default()).vehicle_type(word)


def canonical_maintenance_category(tipo: str | None, categories: Categories | None = None) -> str:
    """`Troca de óleo` -> `preventiva`; `preventiva` or `corretiva` (fallback `corretiva`)."""
    return (categories or _default()).maintenance(tipo)
