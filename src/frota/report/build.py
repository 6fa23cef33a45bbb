"""`build_report`: the warehouse → one self-contained HTML page (the analytics machine's last
step). Reads the warehouse read-only; writes the page atomically (a reader never sees half a
file)."""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from frota import __version__
from frota.config import Settings
from frota.errors import ConfigError, MissingExtra
from frota.i18n import N_, _
from frota.landing import open_landing
from frota.observe.runs import recorded
from frota.report.data import KpiData, read_kpis
from frota.report.fmt import LANGUAGES, Formatter
from frota.report.health import HealthData, HealthPage, read_checks, read_health
from frota.report.page import Page, Section
from frota.report.period import WHY, Period
from frota.report.warehouse import WarehouseReader
from frota.report.words import report_language, translator

DEFAULT_OUT = "data/relatorio.html"
# The template's own words (the sections carry theirs).
PAGE_WORDS = {
    "title": N_("Fleet report"),
    "period": N_("Period"),
    "data_up_to": N_("Data up to"),
    "generated_on": N_("Generated on"),
    "warehouse": N_("Warehouse"),
    "contents": N_("Contents"),
    "definition": N_("Definition"),
    "unreadable": N_("This section could not be read"),
    "definitions_follow": N_("Definitions follow docs/warehouse.md of frota"),
}


@dataclass(frozen=True)
class ReportResult:
    """What `build_report` wrote."""

    path: Path
    bytes: int
    period: Period
    lang: str
    seconds: float
    unavailable: dict[str, str] = field(default_factory=dict)  # section -> why
    published: str | None = None  # where --publish put a copy
    basis: str = "asked"  # why these months (frota.report.period.WHY)
    anchor: date | None = None  # the day a default period ends on


@dataclass(frozen=True)
class Group:
    title: str
    sections: list[Section]


@recorded("report", counts=lambda r: {"bytes": r.bytes, "sections_unavailable": len(r.unavailable)})
def build_report(
    settings: Settings,
    out: Path | str = DEFAULT_OUT,
    *,
    period: Period | None = None,
    lang: str | None = None,
    publish: bool = False,
    now: datetime | None = None,
) -> ReportResult:
    """Write the report of `period` (default: the twelve months up to the newest maintenance) in
    `lang` (default: the `language` setting, else pt-BR); with `publish`, also replace
    `reports/<file name>` in the landing area."""
    lang = lang or report_language(settings.language)
    if lang not in LANGUAGES:
        raise ConfigError(
            _("no report in {lang!r}").format(lang=lang),
            hint=_("use one of: {choices}").format(choices=", ".join(LANGUAGES)),
        )
    check_installed()
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    with WarehouseReader(settings) as wh:
        kpis = read_kpis(wh, period)
        health = read_health(wh, now.astimezone(UTC).replace(tzinfo=None))
        warehouse = wh.target.masked
    read_checks(settings, health, lang)
    html = render_page(kpis, health, lang, _zone(settings), now, warehouse)
    path = Path(out)
    size = write_atomically(path, html.encode("utf-8"))
    published = None
    if publish:
        published = open_landing(settings.landing).put_report(path, path.name)
    return ReportResult(
        path=path,
        bytes=size,
        period=kpis.period,
        lang=lang,
        seconds=time.perf_counter() - started,
        unavailable=kpis.unavailable(),
        published=published,
        basis=kpis.basis,
        anchor=kpis.anchor,
    )


def check_installed() -> None:
    """MissingExtra (exit 7) unless what the page is made with is installed."""
    for module, package in (("matplotlib", "matplotlib"), ("babel", "babel"), ("jinja2", "jinja2")):
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:
            found = False
        if not found:
            raise MissingExtra(package, "warehouse")


def _zone(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


def render_page(
    kpis: KpiData, health: HealthData, lang: str, zone: ZoneInfo, now: datetime, warehouse: str
) -> str:
    """The page's HTML (one string: styles and charts inline); `now` aware."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    fmt, t = Formatter(lang), translator(lang)
    groups = [
        Group(t(N_("Fleet KPIs")), Page(fmt, t).kpi_sections(kpis)),
        Group(t(N_("Pipeline health")), HealthPage(fmt, t, zone).sections(health)),
    ]
    env = Environment(
        loader=PackageLoader("frota.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    css = resources.files("frota.report").joinpath("templates/report.css").read_text("utf-8")
    p = kpis.period
    notice = None
    if kpis.data_inicio is None:
        notice = t(
            N_(
                "The warehouse holds no maintenance yet: the charts appear once `frota warehouse` "
                "has replicated batches with maintenances."
            )
        )
    return env.get_template("report.html.j2").render(
        lang=lang,
        words={key: t(text) for key, text in PAGE_WORDS.items()},
        css=css,
        version=__version__,
        period_raw=f"{p.first:%Y-%m}..{p.last:%Y-%m}",
        period_text=f"{fmt.month(p.first)} – {fmt.month(p.last)}",
        period_why=t(WHY[kpis.basis]).format(day=fmt.date(kpis.anchor)),
        period_basis=kpis.basis,
        reference_raw=kpis.data_referencia.isoformat() if kpis.data_referencia else "",
        reference_text=fmt.date(kpis.data_referencia),
        generated_text=fmt.datetime(now.astimezone(zone).replace(tzinfo=None)),
        warehouse=warehouse,
        notice=notice,
        groups=groups,
    )


def write_atomically(path: Path, content: bytes) -> int:
    """Write `content` to `path` through a temporary file in the same folder; its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(content)
