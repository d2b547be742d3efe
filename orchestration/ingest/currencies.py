"""The currencies billing data may use: ``seeds/currencies.csv``, read once.

The seed is the one list: dbt reads it for each currency's minor-unit exponent (Stripe amounts are
integers in the smallest unit), ingestion reads it here to quarantine an amount in a currency it
does not know instead of loading a number nobody can convert.
"""

from __future__ import annotations

import csv
from functools import cache

from orchestration.ingest.rules import Rule, q, shown
from orchestration.paths import PROJECT_ROOT

SEED = PROJECT_ROOT / "seeds" / "currencies.csv"


@cache
def minor_unit_exponents() -> dict[str, int]:
    """ISO code (upper case) → digits after the decimal point of its smallest unit."""
    with SEED.open(newline="", encoding="utf-8") as handle:
        return {row["currency"]: int(row["minor_unit_exponent"]) for row in csv.DictReader(handle)}


def unknown_currency_rule(field: str, text_sql: str, *, priority: int = 40) -> Rule:
    """The text (any case, trimmed) is a currency of the seed; empty text is left to other rules."""
    known = ", ".join(q(code) for code in sorted(minor_unit_exponents()))
    return Rule(
        "unknown_currency",
        field,
        f"{text_sql} is not null and upper(trim({text_sql})) not in ({known})",
        q(f"{field} is not a currency llm-margin knows (seeds/currencies.csv): ")
        + " || "
        + shown(text_sql),
        priority,
    )
