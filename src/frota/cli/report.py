"""`frota report`: the fleet report, one self-contained HTML page (frota.report)."""

from __future__ import annotations

import sys
from typing import Any

import click

from frota.cli.app import Context, cli, out, pass_ctx
from frota.errors import EXIT_WAREHOUSE
from frota.i18n import _


def _period(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    from frota.report import parse_period

    try:
        return parse_period(value)
    except ValueError as exc:
        raise click.BadParameter(
            _("{exc}; write it as 2025-01..2025-12, 2025-03 or 2025").format(exc=exc)
        ) from None


@cli.command()
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    help="Where to write the page [setting report_path; default data/relatorio.html].",
)
@click.option(
    "--period",
    callback=_period,
    help="Months to report, e.g. 2025-01..2025-12, 2025-03 or 2025 "
    "[default: the twelve months up to the newest maintenance].",
)
@click.option(
    "--lang",
    type=click.Choice(["pt-BR", "en"]),
    help="Language of the page: words, numbers, money and dates [default: the language "
    "setting if set, else pt-BR].",
)
@click.option(
    "--publish/--no-publish",
    default=None,
    help="Also put the page in the landing area's reports/ folder, replacing the last one "
    "[setting report_publish; default off].",
)
@pass_ctx
def report(
    obj: Context, out_path: str | None, period: Any, lang: str | None, publish: bool | None
) -> None:
    """Write the fleet report: KPIs and pipeline health in one HTML file that opens offline."""
    from frota.report import build_report

    s = obj.settings
    result = build_report(
        s,
        out_path or s.report_path,
        period=period,
        lang=lang,
        publish=s.report_publish if publish is None else publish,
    )
    print_report(result)
    if result.unavailable:
        sys.exit(EXIT_WAREHOUSE)


def print_report(result: Any) -> None:
    """What `frota report` and `frota run` say about the page they wrote."""
    from frota.report.period import WHY

    kib = result.bytes / 1024
    message = _("report written to {path} ({kib} KiB, {seconds}s)")
    out.print(
        message.format(
            path=result.path.resolve(), kib=f"{kib:,.0f}", seconds=f"{result.seconds:.1f}"
        )
    )
    p = result.period
    why = _(WHY[result.basis]).format(day=result.anchor.isoformat() if result.anchor else "")
    out.print(
        _("period {first}..{last}: {why}").format(
            first=f"{p.first:%Y-%m}", last=f"{p.last:%Y-%m}", why=why
        )
    )
    missing = _("missing")
    for section, why in result.unavailable.items():
        line = _("section {section}: {why}").format(section=section, why=why)
        out.print(f"[red]{missing}[/red] {line}")
    if result.published:
        out.print(_("report published to {where}").format(where=result.published))
