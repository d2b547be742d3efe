"""The weekly founder report on the shared generated data set, read from the serving copy.

Expected numbers are computed here with SQL over ``marts.fct_llm_calls`` and ``marts.fct_tasks``
in the warehouse (not the serving copy, not the marts the report reads); expected names from the
billing export files the sample generator wrote."""

from __future__ import annotations

import io
import re
import shutil
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from conftest import HeldReader, event, write_jsonl
from landed_billing import landed_customer_names, landed_workspaces
from rich.console import Console

from orchestration import cli
from orchestration.ingest.reasons import QUARANTINE_REASONS
from orchestration.paths import DataPaths
from orchestration.report import IsoWeek, print_report, read_report, render_html
from orchestration.report.charts import PLOT_WIDTH
from orchestration.report.formatting import fmt, meaning, trend
from orchestration.report.queries import (
    DELTA_INT,
    DELTA_REL,
    DELTA_USD,
    DOWN,
    PCT,
    PCT_POINTS,
    PERCENT,
    PERCENT_POINTS,
    UP,
    USD,
)
from orchestration.report.thresholds import RUNAWAY_MIN_SPEND_USD
from orchestration.report.wording import BUDGET_STATES, FURTHER_READING

# The shared data set (conftest.built) runs from Wednesday 2026-11-11 to Sunday 2026-11-22:
# 2026-W46 has five days of data, 2026-W47 all seven.
SECTIONS = {
    "top-customers",
    "feature-unit-costs",
    "route-fallbacks",
    "plan-margin",
    "workspaces-near-caps",
    "unpriced-usage",
    "cheapest-equivalent",  # the example scenario in scenarios/ is loaded by every build
    "data-health",
}


class ReportPage(HTMLParser):
    """Section ids, table cells per section (column → [exact values], and → [(shown text, title,
    class)]), the SVG elements per section, visible text, tags and attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.cells: dict[str, dict[str, list[str]]] = {}
        self.shown: dict[str, dict[str, list[list[str]]]] = {}
        self.svg: dict[str, list[tuple[str, dict]]] = {}
        self.ids: set[str] = set()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text: list[str] = []
        self.titles: list[str] = []  # title attributes (hover text)
        self.cards: list[dict] = []
        self._open: list | None = None
        self._in: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        self.attributes |= set(attrs)
        if tag not in ("meta", "br", "img", "input", "link", "hr"):  # void: never closed
            self._in.append(tag)
        if "title" in attrs:
            self.titles.append(attrs["title"])
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "section":
            self.sections.append(attrs["id"])
            self.cells[attrs["id"]] = {}
            self.shown[attrs["id"]] = {}
            self.svg[attrs["id"]] = []
        if tag == "td":
            section = self.sections[-1]
            self.cells[section].setdefault(attrs["data-col"], []).append(attrs["data-value"])
            self._open = ["", attrs.get("title", ""), attrs.get("class", "")]
            self.shown[section].setdefault(attrs["data-col"], []).append(self._open)
        if "svg" in self._in and self.sections:
            self.svg[self.sections[-1]].append((tag, attrs))
        if tag == "div" and attrs.get("class") == "card":
            self.cards.append({"text": ""})
        if tag == "div" and (attrs.get("class") or "").startswith("change") and self.cards:
            self.cards[-1]["change_class"] = attrs["class"]

    def handle_endtag(self, tag):
        if tag == "td":
            self._open = None
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag) :]

    def handle_data(self, data):
        if "title" in self._in:  # <title> of the page and of SVG elements: hover, not shown
            return
        self.text.append(data)
        if self._open is not None:
            self._open[0] += data
        if self.cards and "div" in self._in and not self.sections:
            self.cards[-1]["text"] += data + " "

    @property
    def all_text(self) -> str:
        return " ".join(self.text)

    def column(self, section: str, key: str) -> list[str]:
        return self.cells[section][key]

    def texts(self, section: str, key: str) -> list[str]:
        return [text for text, _, _ in self.shown[section][key]]

    def classes(self, section: str, key: str) -> list[set[str]]:
        return [set(css.split()) for _, _, css in self.shown[section][key]]


def _page(path: Path) -> ReportPage:
    page = ReportPage()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def _warehouse(built: DataPaths, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_the_default_week_is_the_latest_with_data_and_a_partial_week_says_so(built, capsys):
    assert cli.main(["report"]) == 0
    out = capsys.readouterr().out
    path = built.reports / "founder-report-2026-W47.html"
    assert f"HTML report: {path}" in out.replace("\n", "")
    assert "Partial week" not in out
    page = _page(path)
    assert set(page.sections) == SECTIONS
    # Self-contained: no script, no external resource of any kind, charts drawn inline.
    assert "script" not in page.tags and not {"src", "href"} & page.attributes
    assert "svg" in page.tags and "style" in page.tags

    assert cli.main(["report", "--week", "2026-W46"]) == 0
    assert "Partial week: data covers Wed 11 Nov to Sun 15 Nov only" in capsys.readouterr().out
    page = _page(built.reports / "founder-report-2026-W46.html")
    assert set(page.sections) == SECTIONS
    assert "Partial week: usage data covers Wed 11 Nov to Sun 15 Nov only" in page.all_text


def test_the_numbers_equal_sql_over_calls_and_tasks_for_the_week(built, capsys):
    assert cli.main(["report", "--week", "2026-W47"]) == 0
    out = capsys.readouterr().out
    page = _page(built.reports / "founder-report-2026-W47.html")
    week, prev = (date(2026, 11, 16), date(2026, 11, 22)), (date(2026, 11, 9), date(2026, 11, 15))
    assert "Partial week" not in page.all_text
    assert "The previous week (2026-W46) is partial" in page.all_text

    # Top customers: this week's and last week's cost per customer, costliest first.
    costs = _warehouse(
        built,
        "select coalesce(customer_id, '(untagged)'), sum(cost_usd) filter (where event_date between ? and ?), "
        "sum(cost_usd) filter (where event_date between ? and ?) from marts.fct_llm_calls "
        "group by 1 having count(*) filter (where event_date between ? and ?) > 0 "
        "order by 2 desc, 1",
        [*week, *prev, *week],
    )
    assert len(costs) >= 3
    assert page.column("top-customers", "customer_id") == [c for c, _, _ in costs][:10]
    assert [Decimal(v) for v in page.column("top-customers", "cost_usd")] == [
        c for _, c, _ in costs
    ][:10]
    assert [
        Decimal(v) if v else None for v in page.column("top-customers", "previous_cost_usd")
    ] == [p for _, _, p in costs][:10]
    total = sum(c for _, c, _ in costs)
    assert f"AI cost ${total:,.2f}" in out

    # Cost per successful task by feature: all tasks' cost over the successful ones.
    per_task = dict(
        _warehouse(
            built,
            "select coalesce(feature, '(untagged)'), sum(total_cost_usd) / count(*) filter (where is_successful) "
            "from marts.fct_tasks where task_date between ? and ? group by 1",
            week,
        )
    )
    shown = dict(
        zip(
            page.column("feature-unit-costs", "feature"),
            page.column("feature-unit-costs", "cost_per_successful_task_usd"),
            strict=True,
        )
    )
    assert shown.keys() == per_task.keys()
    for feature, value in per_task.items():
        assert float(shown[feature]) == pytest.approx(float(value), rel=1e-9), feature

    # Fallback rate by original route.
    rates = dict(
        _warehouse(
            built,
            "select coalesce(original_route, '(no route)'), avg(case when is_fallback then 1.0 else 0 end) "
            "from marts.fct_tasks where task_date between ? and ? group by 1",
            week,
        )
    )
    shown = dict(
        zip(
            page.column("route-fallbacks", "original_route"),
            page.column("route-fallbacks", "fallback_rate"),
            strict=True,
        )
    )
    assert shown.keys() == rates.keys()
    for route, rate in rates.items():
        assert float(shown[route]) == pytest.approx(float(rate), rel=1e-9), route

    # Unpriced usage: calls of the week with no price, per provider and model.
    unpriced = _warehouse(
        built,
        "select count(*) from marts.fct_llm_calls where not is_priced and event_date between ? and ?",
        week,
    )[0][0]
    calls = page.cells["unpriced-usage"].get("calls", [])
    assert sum(int(v) for v in calls) == unpriced
    # Gross margin by plan, November (the month W47 ends in): the plans' AI cost adds up to the
    # month's call cost.
    march_cost = _warehouse(
        built,
        "select sum(cost_usd) from marts.fct_llm_calls "
        "where event_date between '2026-11-01' and '2026-11-30'",
    )[0][0]
    plan_costs = [Decimal(v) for v in page.column("plan-margin", "ai_cost_usd")]
    assert len(plan_costs) >= 2
    assert sum(plan_costs) == march_cost

    # Workspaces near their hard caps: spend from November 1 to the end of the week over the cap.
    spend = dict(
        _warehouse(
            built,
            "select workspace_id, sum(cost_usd) from marts.fct_llm_calls "
            "where event_date between '2026-11-01' and '2026-11-22' group by 1",
        )
    )
    capped = page.cells["workspaces-near-caps"]
    assert capped, "the generated data have workspaces with hard caps"
    for workspace, cap, share in zip(
        capped["workspace_id"], capped["budget_usd"], capped["share_used"], strict=True
    ):
        expected = float(spend.get(workspace, 0) / Decimal(cap))
        assert float(share) == pytest.approx(expected, rel=1e-9), workspace


def test_a_malformed_week_is_rejected_with_a_clear_error(built, capsys):
    assert cli.main(["report", "--week", "2025-10"]) == 2
    assert "expected YYYY-Www" in capsys.readouterr().err
    assert cli.main(["report", "--week", "2025-W53"]) == 2
    assert "2025 has no ISO week 53" in capsys.readouterr().err
    assert not list(built.reports.glob("founder-report-2025-W53*"))


def test_a_week_without_data_says_so(built, capsys):
    assert cli.main(["report", "--week", "2026-W20"]) == 0
    assert (
        "No usage data in 2026-W20: usage data covers 2026-11-11 to 2026-11-22"
        in capsys.readouterr().out
    )
    page = _page(built.reports / "founder-report-2026-W20.html")
    assert "no-data" in page.ids
    assert "No usage data in 2026-W20." in page.all_text


def _serving_with_margin_and_budget_marts(built: DataPaths, tmp_path: Path) -> Path:
    """The serving copy plus the two marts of the margin and budgets branches, as their
    interfaces define them, with rows written here."""
    copy = tmp_path / "llm_margin.duckdb"
    shutil.copy(built.serving / "llm_margin.duckdb", copy)
    copy.chmod(0o644)
    workspaces = _warehouse(
        built,
        "select workspace_id, any_value(customer_id) from marts.fct_llm_calls "
        "where event_date between '2026-11-01' and '2026-11-22' and workspace_id is not null "
        "group by 1 order by sum(cost_usd) desc limit 2",
    )
    with duckdb.connect(str(copy)) as con:
        con.execute(
            """
            create or replace table marts.mart_plan_monthly_margin as select * from (values
                ('team', date '2026-11-01', true, 3, 3, 900.0, 300.0, 600.0, 66.67, 80.0, 100.0, 50, 40, 7.5, false, 0),
                ('team', date '2026-10-01', false, 3, 3, 900.0, 100.0, 800.0, 88.89, 80.0, 33.3, 50, 40, 2.5, false, 0),
                ('<b>pro</b>', date '2026-11-01', true, 1, 1, 100.0, 150.0, -50.0, -50.0, 70.0, 150.0, 9, 3, 50.0, true, 0)
            ) as t(plan_id, month, is_month_to_date, customers, active_customers, revenue_usd,
                   ai_cost_usd, gross_margin_usd, gross_margin_pct, target_gross_margin_pct,
                   cost_per_active_customer_usd, tasks, successful_tasks,
                   cost_per_successful_task_usd, is_negative_margin, unconverted_customers)
            """
        )
        con.execute(
            "create or replace table marts.mart_budget_status (scope varchar, scope_id varchar, customer_id varchar, "
            "period_start date, as_of timestamp, budget_usd decimal(24, 12), budget_source varchar, "
            "spend_usd decimal(24, 12), share_used double, projected_spend_usd decimal(24, 12), "
            "projected_share double, state varchar)"
        )
        for (workspace, customer), cap in zip(workspaces, (1, 1000), strict=True):
            con.execute(
                "insert into marts.mart_budget_status values ('workspace', ?, ?, date '2026-11-01', "
                "timestamp '2026-11-22 23:00:00', ?, 'workspace_hard_cap', 0, 0, 0, 0, 'ok')",
                [workspace, customer, cap],
            )
        # Neither a customer budget nor a workspace budget that is not a hard cap is listed.
        con.execute(
            "insert into marts.mart_budget_status values ('customer', 'cus-x', 'cus-x', date '2026-11-01', "
            "timestamp '2026-11-22 23:00:00', 1, 'plan_default', 0, 0.99, 0, 0, 'ok'), "
            "('workspace', 'ws-soft', 'cus-x', date '2026-11-01', "
            "timestamp '2026-11-22 23:00:00', 1, 'customer_budget', 0, 0.99, 0, 0, 'ok')"
        )
    return copy


def test_a_plan_with_unconverted_revenue_is_blank_and_says_why(built, tmp_path):
    copy = _serving_with_margin_and_budget_marts(built, tmp_path)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "update marts.mart_plan_monthly_margin set revenue_usd = null, gross_margin_usd = null, "
            "gross_margin_pct = null, unconverted_customers = 1 "
            "where plan_id = 'team' and month = date '2026-11-01'"
        )
    html = render_html(read_report(copy, IsoWeek.parse("2026-W47")))
    page = ReportPage()
    page.feed(html)

    rows = dict(
        zip(
            page.column("plan-margin", "plan_id"),
            page.column("plan-margin", "revenue_usd"),
            strict=True,
        )
    )
    assert rows["team"] == ""  # blank, not $0
    assert "Revenue not converted to USD for want of an exchange rate: team." in html
    assert "A plan without revenue in the month has no margin percentage" not in html


def test_margin_by_plan_and_workspaces_near_caps_read_their_marts(built, tmp_path):
    copy = _serving_with_margin_and_budget_marts(built, tmp_path)
    report = read_report(copy, IsoWeek.parse("2026-W47"))
    html = render_html(report)
    page = ReportPage()
    page.feed(html)

    # The month the week ends in (November), worst margin first, change in points vs October.
    assert page.column("plan-margin", "plan_id") == ["<b>pro</b>", "team"]
    assert [float(v) for v in page.column("plan-margin", "gross_margin_pct")] == [-50.0, 66.67]
    change = page.column("plan-margin", "change_points")
    assert change[0] == "" and float(change[1]) == pytest.approx(66.67 - 88.89)
    assert "<b>pro</b>" not in html and "&lt;b&gt;pro&lt;/b&gt;" in html  # escaped
    assert "Negative gross margin: <b>pro</b>." in page.all_text
    assert "month to date" in page.all_text

    # Hard-capped workspaces by share of the cap spent from November 1 to the week's end, and to
    # a week earlier (the previous week ends on November 15).
    spend = dict(
        _warehouse(
            built,
            "select workspace_id, sum(cost_usd) from marts.fct_llm_calls "
            "where event_date between '2026-11-01' and '2026-11-22' group by 1",
        )
    )
    earlier = dict(
        _warehouse(
            built,
            "select workspace_id, sum(cost_usd) from marts.fct_llm_calls "
            "where event_date between '2026-11-01' and '2026-11-15' group by 1",
        )
    )
    shown = page.column("workspaces-near-caps", "workspace_id")
    assert len(shown) == 2  # the customer budget and the soft budget are not listed
    shares = [float(v) for v in page.column("workspaces-near-caps", "share_used")]
    caps = [Decimal(v) for v in page.column("workspaces-near-caps", "budget_usd")]
    assert shares == sorted(shares, reverse=True)
    for workspace, share, cap, before in zip(
        shown,
        shares,
        caps,
        page.column("workspaces-near-caps", "previous_share_used"),
        strict=True,
    ):
        assert share == pytest.approx(float(spend[workspace] / cap), rel=1e-9)
        assert float(before) == pytest.approx(float(earlier.get(workspace, 0) / cap), rel=1e-9)


def test_every_data_value_is_html_escaped(built, tmp_path):
    copy = tmp_path / "llm_margin.duckdb"
    shutil.copy(built.serving / "llm_margin.duckdb", copy)
    copy.chmod(0o644)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "update marts.mart_daily_ai_cost set customer_id = '<script>alert(\"x\")</script>' "
            "where customer_id = (select customer_id from marts.mart_daily_ai_cost "
            "where event_date between '2026-11-16' and '2026-11-22' group by 1 order by sum(cost_usd) desc limit 1)"
        )
    html = render_html(read_report(copy))
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


# --- What a founder reads: names, colours by meaning, scales, plain words, no noise ---------------


def _billing_names(built: DataPaths) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Names as the landed billing files hold them (what the sample generator wrote)."""
    return landed_customer_names(built), landed_workspaces(built)


def _terminal(report) -> str:
    """The printed report, as text."""
    out = io.StringIO()
    print_report(report, Console(file=out, width=250, color_system=None))
    text = out.getvalue()
    assert f"founder report {report.week}" in text
    return text


def _section_svg(html: str, section: str) -> str:
    match = re.search(rf'<section id="{section}">.*?</svg>', html, re.S)
    assert match, f"no chart in {section}"
    return match.group(0)


def test_customers_and_workspaces_are_shown_by_their_billing_names_with_ids_beside(built, capsys):
    customers, workspaces = _billing_names(built)
    assert cli.main(["report", "--week", "2026-W47"]) == 0
    out = capsys.readouterr().out
    html = (built.reports / "founder-report-2026-W47.html").read_text(encoding="utf-8")
    page = ReportPage()
    page.feed(html)

    ids = page.column("top-customers", "customer_id")
    shown = page.shown["top-customers"]["customer_id"]
    named = [i for i in ids if customers.get(i)]
    assert len(named) >= 2, "the generated customers have names"
    for customer_id, (text, title, _) in zip(ids, shown, strict=True):
        if customers.get(customer_id):
            assert (text, title) == (customers[customer_id], customer_id)  # the id on hover
            assert customers[customer_id] in out and customer_id in out  # name and id column
        else:
            assert text == customer_id

    capped = page.column("workspaces-near-caps", "workspace_id")
    assert capped
    for workspace_id, (text, title, _), (customer_text, customer_title, _) in zip(
        capped,
        page.shown["workspaces-near-caps"]["workspace_id"],
        page.shown["workspaces-near-caps"]["customer_id"],
        strict=True,
    ):
        name, customer_id = workspaces[workspace_id]
        assert (text, title) == (name, workspace_id)
        assert (customer_text, customer_title) == (customers[customer_id], customer_id)
        # Workspace names repeat across customers ('Default'): the chart names both.
        assert f">{customers[customer_id]} / {name}</text>" in _section_svg(
            html, "workspaces-near-caps"
        )


def test_changes_are_coloured_by_meaning_cost_up_is_bad_margin_up_is_good(built, tmp_path):
    copy = _serving_with_margin_and_budget_marts(built, tmp_path)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "insert into marts.mart_plan_monthly_margin by name select * replace "
            "('scale' as plan_id, 90.0 as gross_margin_pct, false as is_negative_margin) "
            "from marts.mart_plan_monthly_margin where plan_id = 'team'"
        )
        con.execute(
            "update marts.mart_plan_monthly_margin set gross_margin_pct = 85.0 "
            "where plan_id = 'scale' and month = date '2026-10-01'"
        )
    report = read_report(copy, IsoWeek.parse("2026-W47"))
    page = ReportPage()
    page.feed(render_html(report))

    # Margin: 'scale' went up 5 points (good, green), 'team' down 22.2 points (bad, red).
    classes = dict(
        zip(
            page.column("plan-margin", "plan_id"),
            page.classes("plan-margin", "change_points"),
            strict=True,
        )
    )
    assert "good" in classes["scale"] and "bad" not in classes["scale"]
    assert "bad" in classes["team"] and "good" not in classes["team"]

    # Cost: a customer whose AI cost rose is bad news, one whose cost fell good news.
    changes = dict(
        _warehouse(
            built,
            "select coalesce(customer_id, '(untagged)'), "
            "coalesce(sum(cost_usd) filter (where event_date between '2026-11-16' and '2026-11-22'), 0) "
            "- coalesce(sum(cost_usd) filter (where event_date between '2026-11-09' and '2026-11-15'), 0) "
            "from marts.fct_llm_calls group by 1",
        )
    )
    seen = set()
    for customer, css in zip(
        page.column("top-customers", "customer_id"),
        page.classes("top-customers", "change_usd"),
        strict=True,
    ):
        cents = round(changes[customer], 2)
        expected = "bad" if cents > 0 else "good" if cents < 0 else None
        assert ({"good", "bad"} & css) == ({expected} if expected else set()), customer
        seen.add(expected)
    assert "bad" in seen, "some customer's cost rose from the partial week W46"

    # The headline: AI cost up is bad (▲, red); the success rate up would be good.
    cost = _warehouse(
        built,
        "select sum(cost_usd) filter (where event_date between '2026-11-16' and '2026-11-22'), "
        "sum(cost_usd) filter (where event_date between '2026-11-09' and '2026-11-15') "
        "from marts.fct_llm_calls",
    )[0]
    card = next(c for c in page.cards if c["text"].startswith("AI cost"))
    if cost[0] > cost[1]:
        assert "▲" in card["text"] and "bad" in card["change_class"]
    else:
        assert "▼" in card["text"] and "good" in card["change_class"]
    rates = _warehouse(
        built,
        "select avg(case when is_successful then 1.0 else 0 end) filter (where task_date between "
        "'2026-11-16' and '2026-11-22'), avg(case when is_successful then 1.0 else 0 end) filter "
        "(where task_date between '2026-11-09' and '2026-11-15') from marts.fct_tasks",
    )[0]
    card = next(c for c in page.cards if c["text"].startswith("task success rate"))
    points = round(float(rates[0] - rates[1]) * 100, 1)
    if points:
        assert ("good" if points > 0 else "bad") in card["change_class"]
        assert ("▲" if points > 0 else "▼") in card["text"]
    # Volume (calls, tasks) is neither good nor bad in itself.
    card = next(c for c in page.cards if c["text"].startswith("calls"))
    assert "neutral" in card["change_class"]


def test_a_change_that_rounds_to_zero_is_shown_unsigned_and_uncoloured(built, tmp_path):
    for value, kind, shown in [
        (-0.0004, PCT_POINTS, "0.0 pts"),
        (-0.04, PERCENT_POINTS, "0.0 pts"),
        (-0.0004, DELTA_REL, "0.0%"),
        (Decimal("-0.004"), DELTA_USD, "$0.00"),
        (Decimal("0.001"), DELTA_USD, "$0.00"),
        (Decimal("-0.004"), USD, "$0.00"),
        (-0.0001, PCT, "0.0%"),
        (-0.01, PERCENT, "0.0%"),
        (0, DELTA_INT, "0"),
    ]:
        assert fmt(value, kind) == shown, (value, kind)
        assert trend(value, kind) == "" and meaning(value, kind, UP) == ""
    assert fmt(-0.0006, PCT_POINTS) == "-0.1 pts" and meaning(-0.0006, PCT_POINTS, DOWN) == "good"

    copy = _serving_with_margin_and_budget_marts(built, tmp_path)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "insert into marts.mart_plan_monthly_margin by name select * replace "
            "('flat' as plan_id, 80.0 as gross_margin_pct, false as is_negative_margin) "
            "from marts.mart_plan_monthly_margin where plan_id = 'team'"
        )
        con.execute(
            "update marts.mart_plan_monthly_margin set gross_margin_pct = 80.01 "
            "where plan_id = 'flat' and month = date '2026-10-01'"
        )
    report = read_report(copy, IsoWeek.parse("2026-W47"))
    page = ReportPage()
    page.feed(render_html(report))
    flat = page.column("plan-margin", "plan_id").index("flat")
    assert float(page.column("plan-margin", "change_points")[flat]) == pytest.approx(-0.01)
    assert page.texts("plan-margin", "change_points")[flat] == "0.0 pts"
    assert not {"good", "bad"} & page.classes("plan-margin", "change_points")[flat]
    negative_zero = re.compile(r"-\$?0(\.0+)?(?![\d.])")
    assert not negative_zero.search(page.all_text)
    assert not negative_zero.search(_terminal(report))


def test_runaways_below_the_threshold_are_counted_not_listed(built, tmp_path):
    copy = tmp_path / "llm_margin.duckdb"
    shutil.copy(built.serving / "llm_margin.duckdb", copy)
    copy.chmod(0o644)
    at = RUNAWAY_MIN_SPEND_USD
    rows = [  # workspace, day, reason, spend, runaway tasks
        ("ws-big-loop", "2026-11-18", "runaway_tasks", at * 12, 3),
        ("ws-at-threshold", "2026-11-20", "spend_spike", at, 0),
        ("ws-just-under", "2026-11-21", "spend_spike", at - Decimal("0.01"), 0),
        ("ws-two-cents", "2026-11-22", "spend_spike", Decimal("0.02"), 0),
        ("ws-last-week", "2026-11-12", "spend_spike", at * 5, 0),
    ]
    with duckdb.connect(str(copy)) as con:
        con.execute("delete from marts.mart_runaway_workspaces")
        for workspace, day, reason, spend, loops in rows:
            con.execute(
                "insert into marts.mart_runaway_workspaces by name select ? as workspace_id, "
                "'cus-r' as customer_id, cast(? as date) as spend_date, ? as reason, 10 as tasks, "
                "? as runaway_tasks, 40 as attempts, 25 as max_task_attempts, ? as spend_usd, "
                "0.1 as baseline_median_usd, 5 as history_days, 8.5 as spend_ratio",
                [workspace, day, reason, loops, spend],
            )
    report = read_report(copy, IsoWeek.parse("2026-W47"))
    html = render_html(report)
    page = ReportPage()
    page.feed(html)
    listed = {title.split(":")[0] for title in page.titles if title.startswith("ws-")}
    assert listed == {"ws-big-loop", "ws-at-threshold"}  # the week's, at or above the threshold
    small = Decimal("0.02") + at - Decimal("0.01")
    line = f"2 smaller runaway workspace-day(s) under ${at:,.2f} each (${small:,.2f} together)"
    assert line in page.all_text
    text = _terminal(report)
    assert "ws-big-loop" in text and "ws-at-threshold" in text and line in text
    assert "ws-just-under" not in text + html and "ws-two-cents" not in text + html
    assert "3 runaway task(s), up to 25 attempts in one" in text


def test_states_and_reasons_are_shown_in_plain_words(built, capsys):
    assert cli.main(["report", "--week", "2026-W47"]) == 0
    out = capsys.readouterr().out
    page = _page(built.reports / "founder-report-2026-W47.html")
    # Budget states: the words, the code on hover; every state the mart holds has words.
    states = page.column("workspaces-near-caps", "state")
    assert states
    for code, text in zip(states, page.texts("workspaces-near-caps", "state"), strict=True):
        assert text == BUDGET_STATES[code]
    # Quarantine reasons, counted independently in the warehouse's audit view.
    counts = _warehouse(
        built,
        "select error_code, error_field, count(*) from audit.quarantined_usage_events "
        "group by 1, 2 order by 3 desc, 1, 2 limit 12",
    )
    assert counts, "the generated data have malformed records"
    for code, field, count in counts:
        words = f"{count:,} × {QUARANTINE_REASONS[code]}" + (f" (field {field})" if field else "")
        assert words in page.all_text and words in out
    codes = [c for c in (*BUDGET_STATES, *QUARANTINE_REASONS, "spend_spike") if "_" in c]
    for text in (page.all_text, out):
        shown = [c for c in codes if re.search(rf"\b{c}\b", text)]
        assert not shown, shown


def test_the_docs_list_the_same_codes_and_words_as_the_report():
    root = Path(__file__).parent.parent
    usage = (root / "docs" / "usage-events.md").read_text(encoding="utf-8")
    table = usage.split("| `error_code` | meaning | what to do |")[1].split("\n\n")[0]
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", table, re.M))
    assert documented.keys() == QUARANTINE_REASONS.keys()
    for code, words in documented.items():
        assert words.replace("`", "").strip().startswith(QUARANTINE_REASONS[code]), code
    budgets = (root / "docs" / "budgets.md").read_text(encoding="utf-8")
    states = budgets.split("### States")[1].split("\n\n")[2]
    assert set(re.findall(r"^\| `([a-z_0-9]+)` \|", states, re.M)) == BUDGET_STATES.keys()


def test_the_closing_pointer_names_a_documented_command_and_docs_that_exist(built, capsys):
    root = Path(__file__).parent.parent
    command = re.search(r"llm-margin metrics query [^(]+", FURTHER_READING).group(0).strip()
    semantic = (root / "docs" / "semantic-layer.md").read_text(encoding="utf-8")
    assert command in semantic
    for doc in re.findall(r"docs/[a-z-]+\.md", FURTHER_READING):
        assert (root / doc).is_file(), doc
    assert cli.main(["report"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert FURTHER_READING in printed
    html = render_html(read_report(built.serving / "llm_margin.duckdb"))
    assert f'<p class="note further">{FURTHER_READING}</p>' in html


def test_charts_have_a_labelled_scale_and_the_cap_line(built, tmp_path):
    copy = _serving_with_margin_and_budget_marts(built, tmp_path)  # caps of $1 and $1,000
    html = render_html(read_report(copy, IsoWeek.parse("2026-W47")))
    tick = re.compile(r'<line x1="([\d.]+)"[^>]*class="grid[^"]*"/><text[^>]*class="tick">([^<]*)<')
    bar = re.compile(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="14" class="([^"]+)"')

    # Fallback rates: a scale from 0% to a round value past the largest rate, with its title.
    svg = _section_svg(html, "route-fallbacks")
    ticks = [(float(x), label) for x, label in tick.findall(svg)]
    assert ticks[0][1] == "0%" and len(ticks) >= 3
    rates = _warehouse(
        built,
        "with by_week as (select coalesce(original_route, '(no route)') as route, "
        "task_date >= date '2026-11-16' as this_week, "
        "avg(case when is_fallback then 1.0 else 0 end) as rate from marts.fct_tasks "
        "where task_date between '2026-11-09' and '2026-11-22' group by 1, 2) "
        "select max(rate) filter (where this_week), max(rate) filter (where not this_week "
        "and route in (select route from by_week where this_week)) from by_week",
    )[0]
    top_rate, top_either = float(rates[0]), max(float(r or 0) for r in rates)
    end = float(ticks[-1][1].rstrip("%")) / 100
    assert top_either <= end < max(top_either * 2.6, 0.01)
    widest = max(float(w) for _, w, _ in bar.findall(svg))
    assert widest == pytest.approx(top_rate / end * PLOT_WIDTH, abs=0.2)
    assert "share of the route" in svg  # what the scale measures

    # Share of cap: the 100% line is drawn at the 100% tick; the $1 cap is overspent (over the
    # line, drawn as over), the $1,000 one barely used (a short bar left of it).
    svg = _section_svg(html, "workspaces-near-caps")
    line = re.search(r'<line x1="([\d.]+)"[^>]*class="reference"/><text[^>]*>([^<]*)<', svg)
    assert line and line.group(2) == "cap 100%"
    at_100 = dict((label, x) for x, label in tick.findall(svg)).get("100%")
    if at_100 is not None:
        assert float(at_100) == pytest.approx(float(line.group(1)))
    bars = bar.findall(svg)
    shares = [float(v) for v in _page_cells(html, "workspaces-near-caps", "share_used")]
    assert len(bars) == len(shares) == 2 and shares[0] > 1 > shares[1]
    (x0, w0, css0), (x1, w1, css1) = bars
    assert "over" in css0 and float(x0) + float(w0) > float(line.group(1))
    assert "over" not in css1 and float(x1) + float(w1) < float(line.group(1))

    # The same on the real caps of the generated data: a bar under its cap stops left of the line.
    real = render_html(read_report(built.serving / "llm_margin.duckdb", IsoWeek.parse("2026-W47")))
    svg = _section_svg(real, "workspaces-near-caps")
    reference = float(re.search(r'<line x1="([\d.]+)"[^>]*class="reference"', svg).group(1))
    shares = [float(v) for v in _page_cells(real, "workspaces-near-caps", "share_used")]
    for (x, width, _), share in zip(bar.findall(svg), shares, strict=True):
        assert (float(x) + float(width) < reference) == (share < 1), share


def _page_cells(html: str, section: str, key: str) -> list[str]:
    page = ReportPage()
    page.feed(html)
    return page.column(section, key)


def test_an_empty_section_says_one_true_thing(built, tmp_path):
    copy = tmp_path / "llm_margin.duckdb"
    shutil.copy(built.serving / "llm_margin.duckdb", copy)
    copy.chmod(0o644)
    with duckdb.connect(str(copy)) as con:
        con.execute("update marts.mart_daily_ai_cost set unpriced_reason = null")
    report = read_report(copy, IsoWeek.parse("2026-W47"))
    section = re.search(r'<section id="unpriced-usage">(.*?)</section>', render_html(report)).group(
        1
    )
    assert "Every call this week and last week had a price." in section
    assert "price file" not in section and "Nothing" not in section and "<table" not in section
    text = _terminal(report)
    assert "Unpriced usage: Every call this week and last week had a price." in text
    assert "Add a price file" not in text


def test_the_html_report_loads_nothing_from_a_network(built):
    html = render_html(read_report(built.serving / "llm_margin.duckdb"))
    assert "http://" not in html and "https://" not in html and "//" not in html.replace("<!--", "")
    assert "url(" not in html and "@import" not in html and "@font-face" not in html
    page = ReportPage()
    page.feed(html)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & page.tags
    assert not {"src", "href", "srcset"} & page.attributes
    assert "svg" in page.tags and "style" in page.tags


def test_a_reader_held_open_across_a_full_rebuild_keeps_the_old_data(built):
    """Last in this module: it adds a call to the data set."""
    serving = built.serving / "llm_margin.duckdb"
    consistent = (
        "select (select count(*) from marts.fct_llm_calls), "
        "(select sum(cost_usd) = (select sum(total_cost_usd) from marts.fct_tasks) from marts.fct_llm_calls)"
    )
    calls_before = _warehouse(built, "select count(*) from marts.fct_llm_calls")[0][0]
    reader = HeldReader(serving)
    try:
        assert reader.ask(consistent) == f"[({calls_before}, True)]"
        write_jsonl(
            built.landing_for("usage_events") / "zz-one-more-call.jsonl",
            [
                event(
                    event_id="evt-serving-rebuild",
                    task_id="task-serving-rebuild",
                    occurred_at="2026-11-22T12:00:00Z",
                )
            ],
        )
        inode = serving.stat().st_ino
        assert cli.main(["materialize", "--log-level", "WARNING"]) == 0  # not blocked by the reader
        assert serving.stat().st_ino != inode  # a new file was swapped in
        assert reader.ask(consistent) == f"[({calls_before}, True)]"  # the old, whole build
        with duckdb.connect(str(serving), read_only=True) as con:
            assert con.execute(consistent).fetchone() == (calls_before + 1, True)
    finally:
        reader.close()


def test_the_report_names_no_path_of_the_machine(built):
    """The report is forwarded: it names the serving file within the data directory only, in
    the HTML file and in the terminal."""
    report = read_report(built.serving / "llm_margin.duckdb")
    html = render_html(report)
    text = _terminal(report)
    for shown in (html, text):
        assert str(built.root) not in shown and str(built.root.parent) not in shown
        assert "/tmp/" not in shown and str(Path.home()) not in shown
    assert "serving/llm_margin.duckdb" in html
