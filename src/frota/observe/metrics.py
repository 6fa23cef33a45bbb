"""Prometheus metrics (the text exposition format), computed at each scrape from the same facts
`frota check` reads (frota.observe.facts) and from the run history: nothing is kept in memory
between scrapes, so `frota metrics` printed, written for node_exporter's textfile collector or
served on a port all say the same.

A part that cannot be read is `frota_up{part=…} 0`, and its metrics are left out (a scrape
never fails because the database is down).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from frota.config import Settings
from frota.errors import ConfigError, MissingExtra
from frota.i18n import _
from frota.observe.check import rejected_batches
from frota.observe.facts import Facts, WarehouseReader, gather

PREFIX = "frota"
# What a role reads: (landing, database, warehouse).
ROLE_PARTS = {
    "all": (True, True, True),
    "source": (True, False, False),
    "server": (True, True, False),
    "analytics": (False, True, True),
}
# Ledger columns -> (table, outcome) of frota_rows_total.
_LEDGER_ROWS = {
    "veiculos_inserted": ("veiculos", "inserted"),
    "veiculos_updated": ("veiculos", "updated"),
    "veiculos_stale": ("veiculos", "stale"),
    "manutencoes_inserted": ("manutencoes", "inserted"),
    "manutencoes_updated": ("manutencoes", "updated"),
    "manutencoes_present": ("manutencoes", "present"),
    "manutencoes_stale": ("manutencoes", "stale"),
    "duplicates": ("manutencoes", "duplicate"),
}


def _prometheus() -> Any:
    try:
        import prometheus_client
        import prometheus_client.core
    except ImportError:
        raise MissingExtra("prometheus_client", "metrics") from None
    return prometheus_client


def _epoch(value: Any) -> float:
    from datetime import UTC

    return float(value.replace(tzinfo=UTC).timestamp())


class FrotaCollector:
    """A prometheus_client collector: reads the facts of `role` at every scrape."""

    def __init__(
        self, settings: Settings, role: str = "all", warehouse: WarehouseReader | None = None
    ) -> None:
        if role not in ROLE_PARTS:
            raise ValueError(f"role must be one of {tuple(ROLE_PARTS)}")
        self.settings, self.role, self.reader = settings, role, warehouse

    def describe(self) -> list[Any]:
        return []  # computed at each scrape: nothing to describe up front

    def collect(self) -> Iterator[Any]:
        from frota.observe.alerts import failed_deliveries

        landing, database, warehouse = ROLE_PARTS[self.role]
        reader = self.reader if warehouse else None
        facts = gather(self.settings, landing=landing, database=database, warehouse=reader)
        core = _prometheus().core
        yield self._up(core, facts)
        yield from self._ledger(core, facts)
        yield from self._landing(core, facts)
        yield from self._steps(core, facts)
        yield from self._ages(core, facts)
        alerts = core.CounterMetricFamily(
            f"{PREFIX}_alert_delivery_failures",
            "Alert messages a channel did not take (each is sent again later).",
        )
        alerts.add_metric([], failed_deliveries(self.settings))
        yield alerts

    def _up(self, core: Any, facts: Facts) -> Any:
        up = core.GaugeMetricFamily(
            f"{PREFIX}_up", "1 if frota could read this part at the scrape.", labels=["part"]
        )
        if facts.landing is not None:
            up.add_metric(["landing"], float(facts.landing.error is None))
        if facts.database is not None:
            up.add_metric(["database"], float(facts.database.readable))
        if facts.warehouse is not None:
            up.add_metric(["warehouse"], float(facts.warehouse.error is None))
        return up

    def _ledger(self, core: Any, facts: Facts) -> Iterator[Any]:
        db = facts.database
        if db is None or not db.readable:
            return
        rows = core.CounterMetricFamily(
            f"{PREFIX}_rows",
            "Rows the loader wrote or kept out, per table: inserted, updated, stale (an older "
            "vehicle state, not applied), duplicate (already present), quarantined.",
            labels=["table", "outcome"],
        )
        for column, (table, outcome) in _LEDGER_ROWS.items():
            rows.add_metric([table, outcome], db.ledger.get(column, 0))
        for table, n in sorted(db.quarantined_by_table.items()):
            rows.add_metric([table, "quarantined"], n)
        yield rows
        batches = core.CounterMetricFamily(
            f"{PREFIX}_batches_loaded", "Batches in the ledger (loaded exactly once)."
        )
        batches.add_metric([], len(db.loaded))
        yield batches
        held = core.GaugeMetricFamily(
            f"{PREFIX}_quarantine_held_rows", "Rows held in the quarantine now.", labels=["reason"]
        )
        for reason, n in db.quarantine_held.items():
            held.add_metric([reason], n)
        yield held
        new = core.GaugeMetricFamily(
            f"{PREFIX}_quarantine_new_rows", "Held rows that arrived in the last 24 hours."
        )
        new.add_metric([], db.quarantine_new)
        yield new

    def _landing(self, core: Any, facts: Facts) -> Iterator[Any]:
        land = facts.landing
        if land is None or land.error is not None or not land.inspected:
            return
        waiting = core.GaugeMetricFamily(
            f"{PREFIX}_batches_waiting",
            "Batches not loaded yet, by state (rejected: set aside by the loader until a person "
            "retries or acknowledges them: frota batch).",
            labels=["state"],
        )
        rejected = rejected_batches(facts) or []
        for state, items in (
            ("complete", land.pending),
            ("incomplete", land.incomplete),
            ("rejected", rejected),
        ):
            waiting.add_metric([state], len(items))
        yield waiting

    def _steps(self, core: Any, facts: Facts) -> Iterator[Any]:
        success = core.GaugeMetricFamily(
            f"{PREFIX}_step_last_success_timestamp_seconds",
            "When each step last ended well (Unix time).",
            labels=["step"],
        )
        duration = core.GaugeMetricFamily(
            f"{PREFIX}_step_last_duration_seconds",
            "How long each step's newest finished run took.",
            labels=["step"],
        )
        status = core.GaugeMetricFamily(
            f"{PREFIX}_step_last_status",
            "1 for the status of each step's newest run.",
            labels=["step", "status"],
        )
        for step, summary in sorted(facts.steps.items()):
            if summary.last_success is not None:
                success.add_metric([step], _epoch(summary.last_success))
            if summary.last.seconds is not None:
                duration.add_metric([step], summary.last.seconds)
            status.add_metric([step, summary.last.status], 1)
        yield from (success, duration, status)

    def _ages(self, core: Any, facts: Facts) -> Iterator[Any]:
        if facts.landing is not None or facts.database is not None:
            age = core.GaugeMetricFamily(
                f"{PREFIX}_source_newest_batch_age_seconds",
                "Age of the newest batch from each source (a silent source grows it).",
                labels=["source"],
            )
            for source, when in sorted(facts.newest_batch_by_source().items()):
                age.add_metric([source], (facts.now - when).total_seconds())
            yield age
        wh = facts.warehouse
        if wh is not None and wh.error is None and facts.database and facts.database.readable:
            lag = core.GaugeMetricFamily(
                f"{PREFIX}_warehouse_lag_batches", "Loaded batches not in the warehouse yet."
            )
            lag.add_metric([], len(wh.not_replicated))
            oldest = core.GaugeMetricFamily(
                f"{PREFIX}_warehouse_lag_seconds",
                "Since when the oldest batch not in the warehouse was loaded (0: none).",
            )
            first = wh.not_replicated[0][1] if wh.not_replicated else None
            oldest.add_metric([], (facts.now - first).total_seconds() if first else 0.0)
            yield from (lag, oldest)


def registry(
    settings: Settings, role: str = "all", warehouse: WarehouseReader | None = None
) -> Any:
    """A registry holding only frota's collector (`warehouse`: as for frota.observe.check)."""
    prometheus = _prometheus()
    made = prometheus.CollectorRegistry(auto_describe=False)
    made.register(FrotaCollector(settings, role, warehouse))
    return made


def exposition(
    settings: Settings, role: str = "all", warehouse: WarehouseReader | None = None
) -> str:
    """The metrics as Prometheus text (`frota metrics`)."""
    made = registry(settings, role, warehouse)
    return str(_prometheus().generate_latest(made).decode("utf-8"))


def write_textfile(
    settings: Settings,
    path: str | Path,
    role: str = "all",
    warehouse: WarehouseReader | None = None,
) -> None:
    """Write the metrics for node_exporter's textfile collector, atomically (a temporary file
    renamed over `path`: a scrape never reads half a file)."""
    _prometheus().write_to_textfile(str(path), registry(settings, role, warehouse))


def parse_address(address: str) -> tuple[str, int]:
    """`127.0.0.1:9464` (or `:9464`, all interfaces) as (host, port)."""
    host, _colon, port = address.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            _("--serve {address!r} is not HOST:PORT").format(address=address),
            hint=_("e.g. --serve 127.0.0.1:9464"),
        )
    return host.strip("[]") or "0.0.0.0", int(port)


def serve(
    settings: Settings, address: str, role: str = "all", warehouse: WarehouseReader | None = None
) -> tuple[Any, threading.Thread]:
    """Serve the metrics on http://HOST:PORT/metrics in a background thread; the caller keeps
    the process alive (`frota metrics --serve` waits until interrupted)."""
    host, port = parse_address(address)
    made = registry(settings, role, warehouse)
    try:
        return _prometheus().start_http_server(port, addr=host, registry=made)
    except OSError as exc:
        raise ConfigError(
            _("cannot serve metrics on {host}:{port}: {error}").format(
                host=host, port=port, error=exc.strerror or exc
            ),
            hint=_("choose a free port (the Prometheus convention for frota: 9464)"),
        ) from None
