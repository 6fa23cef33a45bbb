"""dbt's `adapter.dispatch` for sqlfluff's jinja templater (dbt's own templater needs a live
profile): `adapter.dispatch(name, "frota")` is the project's `<target>__name` macro, else
`default__name`, with the target the lint config names (`target_type`: duckdb, postgres).
"""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context


@pass_context
def dispatch(context: Context, name: str, macro_namespace: str | None = None) -> Any:
    for prefix in (f"{context['target_type']}__", "default__"):
        macro = context.get(prefix + name)
        if macro is not None:
            return macro
    raise KeyError(f"no {context['target_type']}__{name} or default__{name} macro")
