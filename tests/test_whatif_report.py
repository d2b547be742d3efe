"""The what-if comparison's page and terminal output, and the weekly report's "Cheapest
equivalent" section, rendered from mart rows made by hand here (the marts themselves are built
and tested by the what-if dbt models; tests/test_cli_whatif.py runs the whole command).

Expected totals and choices are worked out by hand from the rows below."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import duckdb
import pytest
from rich.console import Console

from orchestration.report.html import section_html
from orchestration.report.whatif import (
    FEATURE_ROUTE_MART,
    PLAN_MARGIN_MART,
    WhatIfError,
    WhatIfReport,
    cheapest_equivalent,
    read_whatif,
)
from orchestration.report.whatif_page import (
    print_whatif,
    render_whatif_html,
    whatif_file_name,
    write_whatif_html,
)

HOSTILE = "<script>alert('x')</script>"
CHEAP = (
    "Calls of feature chat_assistant on route chat-primary priced as openai gpt-4.1-mini at "
    "their own service tier; cache reads as observed; token counts as observed; traffic of the "
    "last full calendar month in the warehouse; prices in force on the build date, not on each "
    "call's date."
)
UNCHANGED = "Calls no rule matches, replayed unchanged & priced at today's prices."


def row(**values) -> dict:
    base = {
        "feature": "chat_assistant",
        "route": "chat-primary",
        "period_start": date(2026, 10, 1),
        "period_end": date(2026, 11, 1),
        "price_basis": "today",
        "price_date": date(2026, 12, 1),
        "candidate_provider": "openai",
        "candidate_model": "gpt-4.1-mini",
        "candidate_service_tier": "observed",
        "assumptions": CHEAP,
        "calls": 1000,
        "successful_tasks": 400,
        "actual_cost_usd": Decimal("12.50"),
        "scenario_cost_usd": Decimal("2.00"),
        "cost_difference_usd": Decimal("-10.50"),
        "actual_unpriced_calls": 0,
        "scenario_unpriced_calls": 0,
        "scenario_unpriced_reasons": None,
        "actual_cost_per_successful_task_usd": Decimal("0.03125"),
        "scenario_cost_per_successful_task_usd": Decimal("0.005"),
    }
    return {**base, **values}


def report() -> WhatIfReport:
    return WhatIfReport(
        scenario_id="cheaper-chat",
        scenario_file="scenarios/cheaper-chat.yaml",
        description="Chat on a <small> model",
        feature_routes=[
            row(),
            row(
                feature=HOSTILE,
                route="code-primary",
                candidate_provider=None,
                candidate_model=None,
                assumptions=UNCHANGED,
                calls=40,
                successful_tasks=10,
                actual_cost_usd=Decimal("3.00"),
                scenario_cost_usd=None,
                cost_difference_usd=None,
                actual_unpriced_calls=2,
                scenario_unpriced_calls=40,
                scenario_unpriced_reasons="model_not_in_catalog",
                actual_cost_per_successful_task_usd=Decimal("0.30"),
                scenario_cost_per_successful_task_usd=None,
            ),
        ],
        plans=[
            {
                "plan_id": "pro",
                "customers": 3,
                "revenue_usd": Decimal("447.00"),
                "actual_ai_cost_usd": Decimal("15.50"),
                "scenario_ai_cost_usd": Decimal("2.00"),
                "actual_gross_margin_usd": Decimal("431.50"),
                "scenario_gross_margin_usd": Decimal("445.00"),
                "actual_gross_margin_pct": 96.53243847874721,
                "scenario_gross_margin_pct": 99.55257270693512,
                "scenario_unpriced_calls": 40,
            },
            {
                "plan_id": "free",
                "customers": 2,
                "revenue_usd": Decimal("0"),
                "actual_ai_cost_usd": Decimal("0.40"),
                "scenario_ai_cost_usd": Decimal("0.10"),
                "actual_gross_margin_usd": Decimal("-0.40"),
                "scenario_gross_margin_usd": Decimal("-0.10"),
                "actual_gross_margin_pct": None,
                "scenario_gross_margin_pct": None,
                "scenario_unpriced_calls": 0,
            },
        ],
    )


def cells(html: str, column: str) -> list[tuple[str, str]]:
    """(data-value, shown text) of every cell of ``column``."""
    pattern = rf'<td data-col="{column}" data-value="([^"]*)"[^>]*>([^<]*)</td>'
    return re.findall(pattern, html)


def test_the_summary_sums_priced_costs_and_counts_unpriced_calls():
    # actual 12.50 + 3.00 = 15.50; scenario 2.00 (the second row has none priced): -13.50
    assert report().summary() == (
        "1,040 calls replayed: actual cost $15.50, under the scenario $2.00 (-$13.50). "
        "2 calls are unpriced as they ran and 40 calls are unpriced on the candidate: they are "
        "left out of the costs, not counted as $0."
    )


def test_the_page_shows_both_costs_per_feature_and_route_and_margin_by_plan():
    html = render_whatif_html(report())
    assert cells(html, "actual_cost_usd") == [("12.50", "$12.50"), ("3.00", "$3.00")]
    assert cells(html, "scenario_cost_usd") == [("2.00", "$2.00"), ("", "–")]
    assert cells(html, "cost_difference_usd") == [("-10.50", "-$10.50"), ("", "–")]
    assert cells(html, "scenario_cost_per_successful_task_usd")[0] == ("0.005", "$0.0050")
    assert cells(html, "scenario_unpriced_calls")[:2] == [("0", "0"), ("40", "40")]
    assert cells(html, "candidate") == [
        ("openai gpt-4.1-mini", "openai gpt-4.1-mini"),
        ("own model", "own model"),
    ]
    assert cells(html, "plan_id") == [("pro", "pro"), ("free", "free")]
    assert [shown for _, shown in cells(html, "scenario_gross_margin_pct")] == ["99.6%", "–"]
    assert [shown for _, shown in cells(html, "actual_gross_margin_usd")] == ["$431.50", "-$0.40"]
    # a saving is good news, coloured so
    assert re.search(r'data-col="cost_difference_usd" data-value="-10.50" class="good"', html)
    assert 'id="basis">Replayed: real traffic from 2026-10-01 up to 2026-11-01 (exclusive)' in html
    assert (
        "today&#x27;s prices (in force since 2026-12-01), not the prices of each call&#x27;s date"
        in html
    )


def test_every_value_on_the_page_is_escaped_and_each_assumption_listed_once():
    html = render_whatif_html(report())
    assert "<script>" not in html and "<small>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "Chat on a &lt;small&gt; model" in html
    items = re.findall(r"<li>([^<]*)</li>", html)
    assert items == [
        CHEAP.replace("'", "&#x27;"),
        UNCHANGED.replace("&", "&amp;").replace("'", "&#x27;"),
    ]


def test_the_terminal_prints_the_same_comparison():
    console = Console(record=True, width=300)
    print_whatif(report(), console)
    text = console.export_text()
    assert "What if: cheaper-chat" in text
    assert "Prices: today's prices (in force since 2026-12-01), not the prices" in text
    assert "actual cost $15.50, under the scenario $2.00 (-$13.50)" in text
    assert "Cost by feature and route" in text and "Gross margin by plan" in text
    assert HOSTILE in text  # the terminal shows it as text (rich markup is not interpreted)
    assert f"  - {CHEAP}" in text


def test_other_price_bases_are_said_in_words():
    call_time = WhatIfReport("s", "", None, [row(price_basis="call_time", price_date=None)])
    assert call_time.price_basis == "every call priced at the prices in force at its own time"
    on_date = WhatIfReport("s", "", None, [row(price_basis="date", price_date=date(2026, 6, 1))])
    assert (
        on_date.price_basis
        == "the prices in force on 2026-06-01, not the prices of each call's date"
    )
    assert WhatIfReport("s", "", None, []).summary().startswith("0 calls replayed; none")


def test_the_page_is_written_atomically_under_a_safe_name(tmp_path):
    path = write_whatif_html(report(), tmp_path / "reports")
    assert path.name == "whatif-cheaper-chat.html"
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert path.read_text() == render_whatif_html(report())
    assert whatif_file_name("../../etc/x y") == "whatif-_.._etc_x_y.html"


FEATURE_ROUTE_DDL = f"""
create table {FEATURE_ROUTE_MART} (
    scenario_id varchar, feature varchar, route varchar, period_start date, period_end date,
    price_basis varchar, price_date date, candidate_provider varchar, candidate_model varchar,
    candidate_service_tier varchar, assumptions varchar, calls bigint, successful_tasks bigint,
    actual_cost_usd decimal(38, 9), scenario_cost_usd decimal(38, 9),
    cost_difference_usd decimal(38, 9), actual_unpriced_calls bigint,
    scenario_unpriced_calls bigint, scenario_unpriced_reasons varchar,
    actual_cost_per_successful_task_usd decimal(38, 9),
    scenario_cost_per_successful_task_usd decimal(38, 9)
)
"""
PLAN_MARGIN_DDL = f"""
create table {PLAN_MARGIN_MART} (
    scenario_id varchar, plan_id varchar, customers bigint, revenue_usd decimal(38, 9),
    actual_ai_cost_usd decimal(38, 9), scenario_ai_cost_usd decimal(38, 9),
    actual_gross_margin_usd decimal(38, 9), scenario_gross_margin_usd decimal(38, 9),
    actual_gross_margin_pct double, scenario_gross_margin_pct double, scenario_unpriced_calls bigint
)
"""
COLUMNS = [
    "scenario_id", "feature", "route", "candidate_provider", "candidate_model",
    "candidate_service_tier", "actual_cost_usd", "scenario_cost_usd", "actual_unpriced_calls",
    "scenario_unpriced_calls",
]  # fmt: skip


def marts(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(FEATURE_ROUTE_DDL)
    con.execute(PLAN_MARGIN_DDL)
    for values in rows:
        record = dict(zip(COLUMNS, values, strict=True))
        record.update(
            period_start=date(2026, 10, 1),
            period_end=date(2026, 11, 1),
            cost_difference_usd=None
            if record["scenario_cost_usd"] is None
            else record["scenario_cost_usd"] - record["actual_cost_usd"],
        )
        names = ", ".join(record)
        marks = ", ".join("?" for _ in record)
        con.execute(
            f"insert into {FEATURE_ROUTE_MART} ({names}) values ({marks})", list(record.values())
        )
    return con


def tables(con) -> set[str]:
    return {
        f"{s}.{n}"
        for s, n in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }


def test_cheapest_equivalent_is_the_largest_saving_per_feature():
    con = marts(
        [
            # chat: A saves 10 (two routes: 6 + 4), B saves 4 -> A
            ("A", "chat", "r1", "openai", "gpt-4.1-mini", "observed", 8, 2, 0, 0),
            ("A", "chat", "r2", "openai", "gpt-4.1-mini", "observed", 5, 1, 0, 0),
            ("B", "chat", "r1", "google", "gemini-2.5-flash", "observed", 8, 4, 0, 0),
            # code: A costs more, B saves 1 with a tier only -> B
            ("A", "code", "r3", "openai", "gpt-4o", "observed", 5, 7, 0, 0),
            ("B", "code", "r3", None, None, "batch", 5, 4, 0, 0),
            # doc: no rule changed it, only a price change since -> not a candidate
            ("A", "doc", "r4", None, None, "observed", 9, 3, 0, 0),
            # support: cheaper only because the candidate leaves calls unpriced -> left out
            ("B", "support", "r5", "acme", "acme-1", "observed", 9, 1, 0, 30),
        ]
    )
    section = cheapest_equivalent(con, tables(con))
    assert [(r["feature"], r["scenario_id"], r["cost_difference_usd"]) for r in section.rows] == [
        ("chat", "A", -10),
        ("code", "B", -1),
    ]
    assert section.rows[0]["candidates"] == "openai gpt-4.1-mini"
    assert section.rows[1]["candidates"] == "own model (batch)"
    assert section.rows[0]["period"] == "2026-10-01 to 2026-11-01"
    html = section_html(section)
    assert '<section id="cheapest-equivalent"><h2>Cheapest equivalent</h2>' in html
    assert cells(html, "scenario_cost_usd")[0] == ("3.000000000", "$3.00")


def test_cheapest_equivalent_is_absent_without_scenarios():
    empty = marts([])
    assert cheapest_equivalent(empty, tables(empty)) is None
    nothing = duckdb.connect()
    assert cheapest_equivalent(nothing, tables(nothing)) is None
    only_more_expensive = marts([("A", "chat", "r1", "openai", "gpt-4o", "observed", 1, 2, 0, 0)])
    section = cheapest_equivalent(only_more_expensive, tables(only_more_expensive))
    assert section.rows == [] and section.empty == "No scenario lowers the cost of any feature."


def test_read_whatif_reads_one_scenario_by_a_bound_parameter():
    con = marts(
        [
            ("A", "chat", "r1", "openai", "gpt-4.1-mini", "observed", 8, 2, 0, 0),
            ("B", "chat", "r1", "google", "gemini-2.5-flash", "observed", 8, 4, 0, 0),
        ]
    )
    con.execute(
        f"insert into {PLAN_MARGIN_MART} (scenario_id, plan_id, customers) values ('A', 'pro', 1)"
    )
    read = read_whatif(con, "A")
    assert [(r["feature"], r["scenario_cost_usd"]) for r in read.feature_routes] == [("chat", 2)]
    assert [p["plan_id"] for p in read.plans] == ["pro"]
    assert read_whatif(con, "A' or '1'='1").feature_routes == []
    with pytest.raises(
        WhatIfError, match="mart_whatif_feature_route, marts.mart_whatif_plan_margin not built"
    ):
        read_whatif(duckdb.connect(), "A")
