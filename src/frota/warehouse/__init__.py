"""The analytics machine's role: the operational database → the warehouse's `raw` schema
(`replicate`) → dbt's staging, intermediate and marts (`dbt`); `build` chains them."""

from __future__ import annotations

from frota.warehouse.build import WarehouseResult, build_warehouse, replicate_only, transform
from frota.warehouse.dbt import PROJECT_DIR
from frota.warehouse.errors import EXIT_WAREHOUSE, WarehouseError

__all__ = [
    "EXIT_WAREHOUSE",
    "PROJECT_DIR",
    "WarehouseError",
    "WarehouseResult",
    "build_warehouse",
    "replicate_only",
    "transform",
]
