"""What a failed `integridade` test found: the model and the checks its rows broke.

dbt reports a failed test by its generated name (`integridade_stg_frota__veiculos_…_c5a668309b`)
and "Got 2 results": the test's failing rows name the check each one broke (its `verificacao`
column, tests/generic/integridade.sql). After a failed build, frota runs the test's compiled
query again, grouped by check, and says `stg_frota__veiculos: duplicate key (historico_id) in
1 row, aplicacao not accepted in 1 row` — in the language of the command line.
"""

from __future__ import annotations

import re
from typing import Any

from frota.i18n import N_, _, ngettext
from frota.warehouse.target import WarehouseTarget

TEST = "integridade"
# The checks the generic test writes, and how to say them (a group per placeholder).
CHECKS = (
    (re.compile(r"^duplicate key \((?P<columns>.+)\)$"), N_("duplicate key ({columns})")),
    (re.compile(r"^(?P<column>\w+) is null$"), N_("{column} is null")),
    (re.compile(r"^(?P<column>\w+) not accepted$"), N_("{column} has a value not accepted")),
    (re.compile(r"^(?P<column>\w+) < 0$"), N_("{column} is negative")),
    (re.compile(r"^(?P<column>\w+) outside \[0, 1\]$"), N_("{column} is outside [0, 1]")),
)


def check_text(check: str) -> str:
    """One check's name, translated."""
    for pattern, text in CHECKS:
        if match := pattern.match(check):
            return _(text).format(**match.groupdict())
    return check


def describe(target: WarehouseTarget, node: Any) -> str | None:
    """`model: check in n rows, …` for a failed `integridade` test node; None for another
    test, or when its rows cannot be read again (dbt's own message stands then)."""
    metadata = getattr(node, "test_metadata", None)
    sql = getattr(node, "compiled_code", None)
    if metadata is None or metadata.name != TEST or not sql:
        return None
    model = str(getattr(node, "attached_node", None) or "").rsplit(".", 1)[-1] or node.name
    query = f"select verificacao, count(*) from ({sql}) as falhas group by verificacao order by 1"
    try:
        with target.connect(read_only=True) as con:
            found = con.execute(query)
    except Exception:  # noqa: BLE001 - the failure is reported either way; this only adds to it
        return None
    if not found:
        return None
    checks = ", ".join(
        ngettext("{check} in {n} row", "{check} in {n} rows", int(n)).format(
            check=check_text(str(check)), n=int(n)
        )
        for check, n in found
    )
    return _("model {model}: {checks}").format(model=model, checks=checks)
