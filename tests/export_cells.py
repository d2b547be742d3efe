"""Cells of CSV exports (billing, provider invoices) as the docs describe them, for the property
tests: plain decimals, counts, names, and texts that are not numbers; and the doc's test for a
plain decimal, written from the docs' words (docs/billing-exports.md), not from a loader."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

NOT_A_NUMBER = ["1e3", "1_000", "1,000.00", "0x10", "abc", "12 3", "--1", "1.2.3", "NaN"]


def digits(low: int, high: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=low, max_size=high)


# a plain decimal: integer digits and/or fraction digits, maybe negative (never "-0...")
def plain_decimal(max_fraction: int) -> st.SearchStrategy[str]:
    number = st.one_of(
        st.builds(lambda i: i, digits(1, 7)),
        st.builds(lambda i, f: f"{i}.{f}", digits(1, 7), digits(1, max_fraction)),
        st.builds(lambda f: f".{f}", digits(1, max_fraction)),
    )
    return st.tuples(st.booleans(), number).map(
        lambda t: f"-{t[1]}" if t[0] and Decimal(t[1]) != 0 else t[1]
    )


money_cell = st.one_of(
    plain_decimal(6),
    st.builds(lambda i, f: f"{i}.{f}", digits(1, 3), digits(7, 9)),  # too many fraction digits
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


def is_plain(text: str, max_fraction: int) -> bool:
    body = text[1:] if text.startswith("-") else text
    whole, _, fraction = body.partition(".")
    if not body or not (whole or fraction) or ("." in body and not fraction):
        return False
    return (
        (not whole or whole.isascii() and whole.isdigit())
        and (not fraction or fraction.isascii() and fraction.isdigit())
        and len(fraction) <= max_fraction
    )
