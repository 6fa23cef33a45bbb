"""Run history: one row per command run in `frota_runs`, written outside batch transactions."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from frota.db.schema import runs


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def start_run(engine: Engine, run_id: str, command: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            runs.insert(),
            {
                "run_id": run_id,
                "command": command,
                "started_at": _now(),
                "status": "running",
                "batches_loaded": 0,
                "rows_loaded": 0,
                "quarantined": 0,
            },
        )


def finish_run(
    engine: Engine,
    run_id: str,
    status: str,
    *,
    batches_loaded: int = 0,
    rows_loaded: int = 0,
    quarantined: int = 0,
    message: str | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            runs.update()
            .where(runs.c.run_id == run_id)
            .values(
                finished_at=_now(),
                status=status,
                batches_loaded=batches_loaded,
                rows_loaded=rows_loaded,
                quarantined=quarantined,
                message=(message or "")[:2000] or None,
            )
        )


def recent_runs(engine: Engine, limit: int = 10) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(runs).order_by(runs.c.started_at.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]
