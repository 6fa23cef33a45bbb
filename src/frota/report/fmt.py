"""Numbers, money, distances and dates as a reader of each language writes them (Babel's CLDR
data): pt-BR `R$ 1.234,56`, `1.234 km`, `05/03/2025`, `março de 2025`; en `R$1,234.56`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

LANGUAGES = {"pt-BR": "pt_BR", "en": "en"}
DEFAULT_LANGUAGE = "pt-BR"
DASH = "–"  # a figure that does not exist (no km driven, no failure): never a 0 or "nan"

Number = int | float | Decimal


@dataclass(frozen=True)
class Formatter:
    """Formats figures for one language (`pt-BR` or `en`)."""

    lang: str = DEFAULT_LANGUAGE

    @property
    def locale(self) -> str:
        return LANGUAGES[self.lang]

    def money(self, value: Number | None, digits: int = 2) -> str:
        if value is None:
            return DASH
        # The locale's own pattern (pt-BR: "¤ #,##0.00", a no-break space after R$).
        pattern = Locale.parse(self.locale).currency_formats["standard"].pattern
        pattern = pattern.split(";")[0].replace(".00", "." + "0" * digits if digits else "")
        return format_currency(
            value, "BRL", format=pattern, locale=self.locale, currency_digits=False
        )

    def number(self, value: Number | None, digits: int = 0) -> str:
        if value is None:
            return DASH
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def km(self, value: Number | None) -> str:
        return DASH if value is None else f"{self.number(value)} km"

    def days(self, value: Number | None, digits: int = 1) -> str:
        return DASH if value is None else self.number(value, digits)

    def percent(self, value: Number | None, digits: int = 1) -> str:
        if value is None:
            return DASH
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return format_percent(value, format=pattern, locale=self.locale)

    def date(self, value: dt.date | None) -> str:
        if value is None:
            return DASH
        return format_date(value, "dd/MM/yyyy" if self.lang == "pt-BR" else "medium", self.locale)

    def datetime(self, value: dt.datetime | None) -> str:
        if value is None:
            return DASH
        pattern = "dd/MM/yyyy HH:mm" if self.lang == "pt-BR" else "MMM d, yyyy HH:mm"
        return format_datetime(value, pattern, locale=self.locale)

    def month(self, value: dt.date) -> str:
        """`março de 2025` / `March 2025`."""
        return format_date(
            value, "MMMM 'de' yyyy" if self.lang == "pt-BR" else "MMMM yyyy", self.locale
        )

    def month_short(self, value: dt.date) -> str:
        """`mar/25` / `Mar/25`: chart axes."""
        return format_date(value, "MMM", self.locale).rstrip(".") + value.strftime("/%y")
