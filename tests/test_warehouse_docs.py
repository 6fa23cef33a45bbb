"""The marts the report reads are a documented interface: every column of every KPI mart has a
description in the dbt project, and docs/warehouse.md lists exactly those columns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from frota.warehouse import PROJECT_DIR

DOC = Path(__file__).parent.parent / "docs" / "warehouse.md"


def model_columns() -> dict[str, list[dict]]:
    """Columns declared in the marts' YAML, by model."""
    models: dict[str, list[dict]] = {}
    for path in (PROJECT_DIR / "models" / "marts").rglob("*.yml"):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            models[model["name"]] = model.get("columns", [])
    return models


def documented() -> dict[str, tuple[list[str], list[str]]]:
    """The table 'The marts the report reads': name -> (its grain's parts, its columns)."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("### The marts the report reads") :].split("\n### ")[0]
    rows = {}
    for name, grain, columns in re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|$", section, re.M):
        rows[name] = (
            [g.strip() for g in grain.split("×")],
            [c.strip() for c in columns.split(",")],
        )
    return rows


INTERFACE = [n for n in model_columns() if n.startswith("mart_")] + ["fct_visitas_oficina"]


@pytest.mark.parametrize("model", INTERFACE)
def test_every_column_is_described_and_documented(model: str) -> None:
    columns = model_columns()[model]
    assert columns, model
    undescribed = [c["name"] for c in columns if not c.get("description", "").strip()]
    assert not undescribed, f"{model}: no description for {undescribed}"
    names = [c["name"] for c in columns]
    grain, listed = documented()[model]
    assert [g for g in grain if g in names] + listed == names  # the grain's key columns first


def test_kpi_marts_have_enforced_contracts() -> None:
    for name, columns in model_columns().items():
        if name.startswith("mart_"):
            assert all(c.get("data_type") for c in columns), name
    kpi = yaml.safe_load((PROJECT_DIR / "models/marts/kpi/_kpi.yml").read_text(encoding="utf-8"))
    assert all(m["config"]["contract"]["enforced"] for m in kpi["models"])
    (exposure,) = kpi["exposures"]
    assert {f"ref('{m}')" for m in INTERFACE} <= set(exposure["depends_on"])
