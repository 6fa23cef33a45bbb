"""Named checkpoints inside a batch load or a schema upgrade, for the crash tests; inert in
production. Below every other module (the loader and the migrations both call it).

Nothing happens unless the environment sets `FROTA_FAULT_PAUSE=<phase>[@<n>][=<seconds>]`:
the n-th time (default 1st) the process reaches that checkpoint, it writes the phase name to
the file named by `FROTA_FAULT_MARKER` (if set), then sleeps `seconds` (default 60) so a test
can SIGKILL it there. `=0` only writes the marker: the test then kills at a random moment
just after (e.g. while COMMIT is in flight).

Phases, in order: `before_tx`, `mid_insert` (vehicles written, maintenances not yet),
`after_inserts` (every row written, ledger row not yet), `before_commit` (ledger row
written; the next statement is COMMIT); `ddl` after each schema statement of an upgrade.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

PAUSE_ENV = "FROTA_FAULT_PAUSE"
MARKER_ENV = "FROTA_FAULT_MARKER"
PHASES = ("before_tx", "mid_insert", "after_inserts", "before_commit")

_seen: Counter[str] = Counter()


def checkpoint(phase: str, conn: Any = None) -> None:
    """Pause here if the environment asks for this phase (tests replace this in-process)."""
    spec = os.environ.get(PAUSE_ENV)
    if not spec:
        return
    _seen[phase] += 1
    target, _, seconds = spec.partition("=")
    name, _, nth = target.partition("@")
    if name != phase or _seen[phase] != int(nth or 1):
        return
    marker = os.environ.get(MARKER_ENV)
    if marker:
        with open(marker + ".tmp", "w", encoding="utf-8") as fh:
            fh.write(phase)
        os.replace(marker + ".tmp", marker)  # the test never sees a half-written marker
    time.sleep(float(seconds or 60))
