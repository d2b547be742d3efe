"""The weekly founder report as a person opens it: the HTML file in headless Chromium.

The week and the customers expected are computed here from the warehouse's
``marts.fct_llm_calls`` (the report reads the serving copy) and the names from the billing
export in landing (the report reads the warehouse's copy of it)."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from datetime import date, timedelta

import duckdb
from landed_billing import landed_customer_names
from playwright.sync_api import expect

from orchestration import cli
from orchestration.paths import DataPaths

# The top-customers section lists this many customers at most (docs/report.md).
TOP_CUSTOMERS = 10


def _latest_week(built: DataPaths) -> tuple[str, date, date]:
    """The latest ISO week with calls: its label (YYYY-Www), Monday and Sunday."""
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        (latest,) = con.execute("select max(event_date) from marts.fct_llm_calls").fetchone()
    year, week, weekday = latest.isocalendar()
    monday = latest - timedelta(days=weekday - 1)
    return f"{year}-W{week:02d}", monday, monday + timedelta(days=6)


def _costliest_customers(built: DataPaths, monday: date, sunday: date) -> list[str]:
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        rows = con.execute(
            "select customer_id from marts.fct_llm_calls "
            "where event_date between ? and ? and customer_id is not null "
            "group by 1 order by sum(cost_usd) desc nulls last, 1 limit ?",
            [monday, sunday, TOP_CUSTOMERS],
        ).fetchall()
    return [customer for (customer,) in rows]


def test_the_report_shows_its_week_and_its_customers_by_name(built, browser_page, screenshots):
    label, monday, sunday = _latest_week(built)
    customers = _costliest_customers(built, monday, sunday)
    names = landed_customer_names(built)
    named = [names[customer] for customer in customers if customer in names]
    assert len(named) >= 3, f"the shared data set names its customers in billing: {customers}"

    with redirect_stdout(io.StringIO()):
        assert cli.main(["report"]) == 0
    report = built.reports / f"founder-report-{label}.html"
    assert report.is_file(), f"`llm-margin report` wrote no {report.name}"

    page = browser_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(report.as_uri())

    # The week, in the title a person reads first.
    expect(page.get_by_role("heading", level=1)).to_contain_text(label)
    # Each of the week's costliest customers by the name billing knows it by.
    top = page.locator("section#top-customers")
    expect(top).to_be_visible()
    for name in named:
        expect(top.get_by_text(name, exact=True).first).to_be_visible()
    # Renders offline: the file asks for nothing but itself.
    assert [url for url in requested if not re.match(r"(file|data):", url)] == []
    screenshots.save(page, f"report-{label}")
