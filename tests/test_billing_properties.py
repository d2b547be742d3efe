"""The billing exports' rules as the oracle: generated plans.csv rows load or are quarantined
exactly as docs/billing-exports.md says.

Each example is one plans.csv of many generated rows, loaded with ``billing.load_billing`` into
a fresh lake. The verdict for each row comes from the rules below, written from the doc's words
("plan_id and price_per_month_usd and target_gross_margin_pct required; money a plain decimal
with at most six fraction digits, >= 0; a margin in [0, 100) with at most four fraction digits;
counts whole numbers written as digits with an optional sign, >= 0; `1.5`, `2.0`, `1e3`,
`1_000`, `0x10`, `1,000.00` are wrong_type"), never from the loader's own rules. An accepted row
must be in the lake with exactly its values; any other must be quarantined at its row, with
reasons that are all rules it breaks. Only forms the doc decides are generated (no spaces around
numbers, no `+` sign, no `5.`), so that the oracle never has to guess.
"""

from __future__ import annotations

import csv
import tempfile
from decimal import Decimal
from pathlib import Path

import duckdb
from hypothesis import given
from hypothesis import strategies as st

from orchestration.ingest.billing import ENTITIES, load_billing

# the file's columns, in the order the loader declares them; the rules below are the doc's
COLUMNS = [field.name for field in ENTITIES["plans"]]
MONEY = {"price_per_month_usd": True, "overage_per_task_usd": False}  # name: required
COUNTS = ("included_tasks", "seats_included")
NOT_A_NUMBER = ["1e3", "1_000", "1,000.00", "0x10", "abc", "12 3", "--1", "1.2.3", "NaN"]


def _digits(low: int, high: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=low, max_size=high)


# a plain decimal: integer digits and/or fraction digits, maybe negative (never "-0...")
def _plain_decimal(max_fraction: int) -> st.SearchStrategy[str]:
    number = st.one_of(
        st.builds(lambda i: i, _digits(1, 7)),
        st.builds(lambda i, f: f"{i}.{f}", _digits(1, 7), _digits(1, max_fraction)),
        st.builds(lambda f: f".{f}", _digits(1, max_fraction)),
    )
    return st.tuples(st.booleans(), number).map(
        lambda t: f"-{t[1]}" if t[0] and Decimal(t[1]) != 0 else t[1]
    )


money_cell = st.one_of(
    _plain_decimal(6),
    st.builds(lambda i, f: f"{i}.{f}", _digits(1, 3), _digits(7, 9)),  # too many fraction digits
    st.sampled_from(NOT_A_NUMBER),
    st.just(""),
)
percent_cell = st.one_of(
    st.builds(lambda i, f: f"{i}.{f}" if f else i, _digits(1, 3), _digits(0, 4)),
    st.builds(lambda i, f: f"{i}.{f}", _digits(1, 2), _digits(5, 6)),  # too many fraction digits
    st.builds(lambda i: f"-{i}", st.integers(1, 50).map(str)),
    st.sampled_from(NOT_A_NUMBER),
    st.just(""),
)
count_cell = st.one_of(
    st.integers(-5, 10**9).map(str),
    st.sampled_from(["1.5", "2.0", *NOT_A_NUMBER]),
    st.just(""),
)
name_cell = st.one_of(
    st.just(""),
    st.sampled_from(["Pro", "'; drop table x; --", 'a "quoted", name', "<b>x</b>", "Équipe 漢字"]),
)
rows = st.lists(
    st.fixed_dictionaries(
        {
            "plan_id": st.one_of(
                st.just(""), st.from_regex(r"[a-z]{1,8}_[0-9]{1,3}", fullmatch=True)
            ),
            "plan_name": name_cell,
            "price_per_month_usd": money_cell,
            "target_gross_margin_pct": percent_cell,
            "included_tasks": count_cell,
            "overage_per_task_usd": money_cell,
            "seats_included": count_cell,
        }
    ),
    min_size=1,
    max_size=40,
)


def _is_plain(text: str, max_fraction: int) -> bool:
    body = text[1:] if text.startswith("-") else text
    whole, _, fraction = body.partition(".")
    if not body or not (whole or fraction) or ("." in body and not fraction):
        return False
    return (
        (not whole or whole.isascii() and whole.isdigit())
        and (not fraction or fraction.isascii() and fraction.isdigit())
        and len(fraction) <= max_fraction
    )


def broken_rules(row: dict[str, str]) -> set[tuple[str, str]]:
    """(reason, column) of every rule of docs/billing-exports.md the row breaks."""
    broken = set()
    for name in ("plan_id", "price_per_month_usd", "target_gross_margin_pct"):
        if row[name] == "":
            broken.add(("missing_required", name))
    for name in MONEY:
        text = row[name]
        if text == "":
            continue
        if not _is_plain(text, 6):
            broken.add(("wrong_type", name))
        elif Decimal(text) < 0:
            broken.add(("negative_value", name))
    text = row["target_gross_margin_pct"]
    if text != "":
        if not _is_plain(text, 4):
            broken.add(("wrong_type", "target_gross_margin_pct"))
        elif not Decimal(0) <= Decimal(text) < 100:
            # below zero: the doc's range [0, 100) and the >= 0 rule both say so
            reason = "out_of_range" if Decimal(text) >= 100 else "negative_or_out_of_range"
            broken.add((reason, "target_gross_margin_pct"))
    for name in COUNTS:
        text = row[name]
        if text == "":
            continue
        body = text[1:] if text.startswith("-") else text
        if not (body.isascii() and body.isdigit()):
            broken.add(("wrong_type", name))
        elif int(text) < 0:
            broken.add(("negative_value", name))
    return broken


def _matches(reason: str, column: str, broken: set[tuple[str, str]]) -> bool:
    if (reason, column) in broken:
        return True
    return reason in ("negative_value", "out_of_range") and (
        ("negative_or_out_of_range", column) in broken
    )


def _expected_value(name: str, text: str):
    if text == "":
        return None
    if name in MONEY or name == "target_gross_margin_pct":
        return Decimal(text)
    if name in COUNTS:
        return int(text)
    return text


@given(rows)
def test_plans_rows_load_or_are_quarantined_as_the_doc_says(generated):
    with tempfile.TemporaryDirectory() as tmp:
        landing, lake = Path(tmp) / "billing", Path(tmp) / "lake"
        landing.mkdir()
        with open(landing / "plans.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows([[row[c] for c in COLUMNS] for row in generated])
        (result,) = load_billing(landing, lake)
        with duckdb.connect() as con:
            loaded = {
                row[-1]: dict(zip(COLUMNS, row[:-1], strict=True))
                for row in con.execute(
                    f"select {', '.join(COLUMNS)}, _source_row "
                    f"from read_parquet('{lake}/billing/plans/*.parquet') where _source_row is not null"
                ).fetchall()
            }
            quarantined: dict[int, set[tuple[str, str]]] = {}
            for source_row, code, field in con.execute(
                f"select source_row, error_code, error_field "
                f"from read_parquet('{lake}/quarantine/billing/*.parquet') where entity = 'plans'"
            ).fetchall():
                quarantined.setdefault(source_row, set()).add((code, field))

    assert (result.rows_read, result.rows_loaded + result.rows_quarantined) == (
        len(generated),
        len(generated),
    )
    for number, row in enumerate(generated, start=1):
        broken = broken_rules(row)
        if not broken:
            assert number not in quarantined, (row, quarantined.get(number))
            assert loaded.get(number) == {c: _expected_value(c, row[c]) for c in COLUMNS}, row
        else:
            assert number not in loaded, (row, broken)
            reasons = quarantined.get(number)
            assert reasons, (row, broken)
            assert all(_matches(code, field, broken) for code, field in reasons), (
                row,
                reasons,
                broken,
            )
