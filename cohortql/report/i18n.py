"""The feasibility report's words in English and French, and numbers and dates in each language's way.

Every label and sentence of the report is a key of `MESSAGES`, read from i18n.toml, where one
entry holds a key's English and French: both languages have every key (tests/report/test_report_i18n.py
checks it). Numbers and dates are formatted by Babel's CLDR data: 1,234 and 31 December 2025 in
English, 1 234 and 31 décembre 2025 in French.

`EXPLAIN` holds the phrases of the plain-language definition (`cohortql/report/explain.py`) in
both languages the same way: `cohortql explain` is the English, the French report's definition
the French. Babel is imported where a number or a date is formatted (`explain` needs none in English).
"""

from __future__ import annotations

import datetime
import tomllib
from pathlib import Path

LANGUAGES = ("en", "fr")

# The words themselves are data: i18n.toml, beside this file, has an entry key = [English, French] each.
_CATALOGUE = tomllib.loads(Path(__file__).with_name("i18n.toml").read_text(encoding="utf-8"))


def _by_language(entries: dict[str, list]) -> dict[str, dict]:
    """{language: {key: text}} from key = [English, French] entries; a [singular, plural] pair becomes a tuple."""
    return {
        code: {key: tuple(texts[column]) if isinstance(texts[column], list) else texts[column]
               for key, texts in entries.items()}
        for column, code in enumerate(LANGUAGES)
    }


MESSAGES: dict[str, dict[str, str]] = _by_language(_CATALOGUE["messages"])


class Language:
    """One language's messages and formats."""

    def __init__(self, code: str):
        if code not in LANGUAGES:
            raise ValueError(f"unknown language {code!r}; choose from {', '.join(LANGUAGES)}")
        self.code = code
        self._messages = MESSAGES[code]

    def __call__(self, key: str, **values) -> str:
        return self._messages[key].format(**values)

    def number(self, value: float, decimals: int = 0) -> str:
        from babel.numbers import format_decimal

        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=self.code)

    def percent(self, value: float) -> str:
        from babel.numbers import format_percent

        return format_percent(value, locale=self.code)

    def date(self, value: datetime.date | str | None) -> str:
        from babel.dates import format_date

        if value is None:
            return self("not_given")
        if isinstance(value, str):
            value = datetime.date.fromisoformat(value[:10])
        return format_date(value, "long", locale=self.code)

    def period(self, period: str) -> str:
        """'2025-03' -> Mar 2025 / mars 2025; '2025-Q1' -> Q1 2025 / T1 2025."""
        from babel.dates import format_date

        year, part = period.split("-")
        if part.startswith("Q"):
            return f"{'T' if self.code == 'fr' else 'Q'}{part[1:]} {year}"
        return format_date(datetime.date(int(year), int(part), 1), "MMM yyyy", locale=self.code)


# The plain-language definition (cohortql/report/explain.py): phrases with placeholders, and nouns
# as (singular, plural). English is `cohortql explain`'s text, word for word.
EXPLAIN: dict[str, dict[str, str | tuple[str, str]]] = _by_language(_CATALOGUE["explain"])

# Domain nouns of the French definition (English: cohortql.omop's `noun`), singular and plural.
EXPLAIN_NOUNS_FR = {
    "condition": "diagnostic", "drug": "exposition médicamenteuse", "procedure": "acte", "measurement": "mesure",
    "observation": "observation", "visit": "visite", "device": "dispositif médical", "death": "décès",
    "condition_era": "épisode de diagnostic", "drug_era": "épisode médicamenteux",
}
