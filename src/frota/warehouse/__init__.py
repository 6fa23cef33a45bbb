"""The analytics machine's role: the operational database → the warehouse's `raw` schema
(`replicate`) → dbt's staging, intermediate and marts (`dbt`); `build` chains them."""

from __future__ import annotations

from frota.warehouse.build import WarehouseResult, build_warehouse, replicate_only, transform
from frota.warehouse.errors import EXIT_WAREHOUSE, WarehouseError
from frota.warehouse.project import PROJECT_DIR, NewProject, init_project

__all__ = [
    "EXIT_WAREHOUSE",
    "PROJECT_DIR",
    "NewProject",
    "WarehouseError",
    "WarehouseResult",
    "build_warehouse",
    "init_project",
    "replicate_only",
    "transform",
]
