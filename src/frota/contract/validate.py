"""Row validation against the contract: text in, typed values or a reason code out.

Shared by both sides of the hand-off: `publish --from` (the source) validates a user's export
before writing canonical files, and `load` (the server) validates again, trusting nothing.

Reason codes are stable (they are stored in the quarantine and documented in
docs/data-contract.md); add new ones, never rename.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from frota.contract.tables import CATEGORIAS, Column, Table, is_valid_plate
from frota.i18n import N_, _

# Every reason code with what it means and what to do, for people: `quarantine list`, the
# publish report and errors show them in the user's language (docs/data-contract.md says the
# same with examples).
REASONS: dict[str, str] = {
    "missing_value": N_("a required value is empty"),
    "not_an_integer": N_("the value is not a whole number"),
    "not_a_decimal": N_("the value is not a number"),
    "not_a_date": N_("the value is not a date (use YYYY-MM-DD or dd/mm/yyyy)"),
    "impossible_date": N_("the date does not exist (e.g. 31/02/2024)"),
    "future_date": N_("the date is after today"),
    "negative_value": N_("the value is negative"),
    "out_of_range": N_("the value is implausibly large (or a date before 1900)"),
    "too_precise": N_("the value has more decimal places than the column keeps"),
    "too_long": N_("the value is longer than its column; frota never truncates"),
    "invalid_plate": N_("not a plate in the old (ABC1234) or Mercosul (ABC1D23) format"),
    "invalid_category": N_("categoria must be preventiva or corretiva"),
    "conclusion_before_service": N_("data_conclusao is before data_manutencao"),
    "bad_characters": N_("the value holds control characters (e.g. NUL)"),
    "ragged_row": N_("the row has more or fewer fields than the header"),
    "repeated_header": N_("a copy of the header line in the middle of the file"),
    "conflicting_duplicate": N_("the same placa twice in one batch with different values"),
    "duplicate_row": N_("an exact copy of an earlier row in the same batch"),
    "conflicting_id_origem": N_("the same work order twice in one batch with different values"),
    "vehicle_unknown": N_("the vehicle is not known yet; released when it arrives"),
    "odometer_regressed": N_("the odometer is lower than the vehicle's last known value"),
}
FIXES: dict[str, str] = {
    "missing_value": N_("fill in the required value"),
    "not_an_integer": N_("write a whole number: 120000 (or 120.000 with decimal comma)"),
    "not_a_decimal": N_("write a number: 1234.56 (or 1.234,56 with decimal comma)"),
    "not_a_date": N_("write the date as dd/mm/yyyy or yyyy-mm-dd"),
    "impossible_date": N_("write a date that exists"),
    "future_date": N_("write a date up to today (a retry after that day releases the row)"),
    "negative_value": N_("write a value of 0 or more (refunds are not maintenances)"),
    "out_of_range": N_("write a plausible value (at most 5,000,000; dates from 1900)"),
    "too_precise": N_("write at most 2 decimal places"),
    "too_long": N_("shorten the value: frota never truncates"),
    "invalid_plate": N_("write the plate as ABC1234 or ABC1D23"),
    "invalid_category": N_("write preventiva, corretiva or leave it empty"),
    "conclusion_before_service": N_("fix either date"),
    "bad_characters": N_(
        "remove the control character (tabs and line breaks inside quoted values are fine)"
    ),
    "ragged_row": N_("fix the row; put values that hold the delimiter in quotes"),
    "repeated_header": N_("nothing to fix: it is held only to be counted"),
    "conflicting_duplicate": N_(
        "keep one row per placa: publish the correct row, or release the right copy with "
        "frota quarantine retry --id N"
    ),
    "conflicting_id_origem": N_(
        "keep one row per work order: publish the correct row, or release the right copy with "
        "frota quarantine retry --id N"
    ),
    "duplicate_row": N_(
        "nothing, if it is a copy; if it really happened twice: "
        "frota quarantine retry --reason duplicate_row"
    ),
    "vehicle_unknown": N_("nothing: it loads by itself when the vehicle arrives"),
    "odometer_regressed": N_("the odometer never goes back: fix the reading"),
}


def explain(reason: str) -> str:
    """What a reason code means, in the user's language ("" for an unknown code)."""
    return _(REASONS[reason]) if reason in REASONS else ""


def fix_for(reason: str) -> str:
    """What to do about a row held for `reason`, in the user's language ("" when unknown)."""
    return _(FIXES[reason]) if reason in FIXES else ""


# ASCII digits only: int() and Decimal() also accept other scripts' digits and "1_000".
_INT_RE = re.compile(r"^[+-]?[0-9]+$")
_DECIMAL_RE = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
# Decimal comma: thousands dots only in groups of three (so `850.00` is never read as 85000).
_COMMA_NUMBER = re.compile(r"^[+-]?([0-9]{1,3}(\.[0-9]{3})+|[0-9]+)(,[0-9]+)?$")
# ...and a lone dot that cannot be a thousands dot (`850.00`, `12.5`) is a decimal point.
_POINT_NUMBER = re.compile(r"^[+-]?[0-9]+\.([0-9]{1,2}|[0-9]{4,})$")
_CURRENCY = re.compile(r"^([+-]?)\s*R\$\s*", re.IGNORECASE)
# Excel writes date cells formatted with a time as `01/03/2019 00:00`; the time is dropped.
_TIME = r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
_ISO_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})" + _TIME + "$")
_BR_DATE = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})" + _TIME + "$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PLATE_JUNK = re.compile(r"[\s\-.]")
EARLIEST_DATE = date(1900, 1, 1)  # older dates are typos (01/01/0202), not fleet history
_MAX_DIGITS = 15  # no cost or odometer needs more; keeps Decimal/int arithmetic exact and cheap


@dataclass(frozen=True)
class Problem:
    """Why a row cannot be loaded."""

    reason: str
    column: str | None
    detail: str


class ValueProblem(Exception):
    """Raised by a value parser; becomes a Problem for its column."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class NumberFormat:
    """How numbers are written: canonical files use a dot; Brazilian exports a comma."""

    decimal_comma: bool = False


CANONICAL = NumberFormat(decimal_comma=False)
BRAZILIAN = NumberFormat(decimal_comma=True)


def _short(text: str, limit: int = 60) -> str:
    """A value as quoted in a message: long values are cut (the raw text keeps them)."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def normalize_plate(text: str) -> str:
    """`abc-1234` -> `ABC1234`: uppercase, no hyphen, dot or space."""
    return _PLATE_JUNK.sub("", text).upper()


def _number_text(text: str, fmt: NumberFormat) -> str | None:
    """Canonical `[-]digits[.digits]` text, or None when the text is not a number."""
    text = _CURRENCY.sub(r"\1", text)  # "R$ 1.234,56" as Excel writes currency cells
    if fmt.decimal_comma:
        # 1.234,56 -> 1234.56 ; thousands dots only before the comma.
        if _POINT_NUMBER.match(text):
            return text
        if not _COMMA_NUMBER.match(text):
            return None
        return text.replace(".", "").replace(",", ".")
    return text if _DECIMAL_RE.match(text) else None


def parse_int(text: str, fmt: NumberFormat = CANONICAL) -> int:
    cleaned = _number_text(text, fmt)
    if cleaned is None or not _INT_RE.match(cleaned):
        raise ValueProblem("not_an_integer", f"{_short(text)!r} is not a whole number")
    if len(cleaned.lstrip("+-0")) > _MAX_DIGITS:  # also keeps int() under its digit limit
        raise ValueProblem("out_of_range", f"{len(text)} digits: implausibly large")
    return int(cleaned)


def parse_decimal(text: str, fmt: NumberFormat = CANONICAL, scale: int = 2) -> Decimal:
    cleaned = _number_text(text, fmt)
    if cleaned is None:
        raise ValueProblem("not_a_decimal", f"{_short(text)!r} is not a number")
    if len(cleaned) > 4 * _MAX_DIGITS:
        raise ValueProblem("out_of_range", f"{len(text)} characters: implausibly large")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueProblem("not_a_decimal", f"{_short(text)!r} is not a number") from None
    if not value.is_finite():
        raise ValueProblem("not_a_decimal", f"{_short(text)!r} is not a number")
    if value.adjusted() >= _MAX_DIGITS:
        raise ValueProblem("out_of_range", f"{len(text)} characters: implausibly large")
    quantized = value.quantize(Decimal(1).scaleb(-scale))
    if quantized != value:
        raise ValueProblem("too_precise", f"{text!r} has more than {scale} decimal places")
    return quantized


def parse_date(text: str) -> date:
    """ISO `YYYY-MM-DD` or Brazilian `dd/mm/yyyy`."""
    if m := _ISO_DATE.match(text):
        y, mo, d = (int(g) for g in m.groups())
    elif m := _BR_DATE.match(text):
        d, mo, y = (int(g) for g in m.groups())
    else:
        raise ValueProblem(
            "not_a_date", f"{_short(text)!r} is not a date (YYYY-MM-DD or dd/mm/yyyy)"
        )
    try:
        return date(y, mo, d)
    except ValueError:
        raise ValueProblem("impossible_date", f"{text!r} does not exist") from None


def parse_value(col: Column, text: str, fmt: NumberFormat, today: date) -> Any:
    """One cell (already stripped, non-empty) as the column's type, or ValueProblem."""
    if _CONTROL.search(text):
        raise ValueProblem("bad_characters", "control characters (e.g. NUL) are not allowed")
    if col.kind == "str":
        value = normalize_plate(text) if col.name in ("placa", "placa_veiculo") else text
        if col.length is not None and len(value) > col.length:
            raise ValueProblem(
                "too_long", f"{len(value)} characters; the column holds {col.length}"
            )
        if col.name in ("placa", "placa_veiculo") and not is_valid_plate(value):
            raise ValueProblem("invalid_plate", f"{_short(text)!r} is not a plate")
        if col.name == "categoria":
            value = value.lower()
            if value not in CATEGORIAS:
                raise ValueProblem(
                    "invalid_category", f"{_short(text)!r}: use preventiva or corretiva"
                )
        return value
    if col.kind == "date":
        day = parse_date(text)
        if day > today:
            raise ValueProblem("future_date", f"{day.isoformat()} is after today")
        if day < EARLIEST_DATE:
            raise ValueProblem("out_of_range", f"{day.isoformat()} is before {EARLIEST_DATE}")
        return day
    number: int | Decimal
    if col.kind == "int":
        number = parse_int(text, fmt)
    elif col.kind == "decimal":
        number = parse_decimal(text, fmt, (col.precision or (10, 2))[1])
    else:
        raise ValueError(f"column {col.name} is not read from files")
    if number < 0:
        raise ValueProblem("negative_value", f"{text!r} is negative")
    if col.maximum is not None and number > col.maximum:
        raise ValueProblem("out_of_range", f"{text!r} is above {col.maximum}")
    return number


def canonical_text(col: Column, text: str, fmt: NumberFormat) -> str:
    """A rejected value rewritten in the canonical format where it can be (`-10,00` ->
    `-10.00`, `01/01/2099` -> `2099-01-01`), so the loader rejects it for the same reason;
    otherwise the text as given."""
    try:
        if col.kind in ("int", "decimal"):
            cleaned = _number_text(text, fmt)
            if cleaned is not None and len(cleaned) <= 4 * _MAX_DIGITS:
                return cleaned
        elif col.kind == "date":
            return parse_date(text).isoformat()
    except ValueProblem:
        pass
    return text


def parse_row(
    table: Table, raw: dict[str, str], today: date, fmt: NumberFormat = CANONICAL
) -> tuple[dict[str, Any] | None, Problem | None]:
    """A raw text row (column -> text) as typed values, or the first Problem found."""
    row: dict[str, Any] = {}
    for col in table.csv_columns:
        text = (raw.get(col.name) or "").strip()
        if not text:
            if col.required:
                return None, Problem("missing_value", col.name, f"{col.name} is required")
            row[col.name] = None
            continue
        try:
            row[col.name] = parse_value(col, text, fmt, today)
        except ValueProblem as p:
            return None, Problem(p.reason, col.name, p.detail)
    conclusao, servico = row.get("data_conclusao"), row.get("data_manutencao")
    if conclusao is not None and servico is not None and conclusao < servico:
        return None, Problem(
            "conclusion_before_service", "data_conclusao", f"{conclusao} is before {servico}"
        )
    return row, None
