"""The weekly founder report on the shared generated data set, read from the serving copy.

Expected numbers are computed here with SQL over ``marts.fct_llm_calls`` and ``marts.fct_tasks``
in the warehouse (not the serving copy, not the marts the report reads)."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from conftest import HeldReader, event, write_jsonl

from orchestration import cli
from orchestration.paths import DataPaths
from orchestration.report import IsoWeek, read_report, render_html

# The shared data set (conftest.built) runs from Wednesday 2026-11-11 to Sunday 2026-11-22:
# 2026-W46 has five days of data, 2026-W47 all seven.
SECTIONS = {
    "top-customers",
    "feature-unit-costs",
    "route-fallbacks",
    "plan-margin",
    "workspaces-near-caps",
    "unpriced-usage",
    "data-health",
}


class ReportPage(HTMLParser):
    """Section ids, table cells per section (column → [exact values]), text, tags and attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.cells: dict[str, dict[str, list[str]]] = {}
        self.ids: set[str] = set()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        self.attributes |= set(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "section":
            self.sections.append(attrs["id"])
            self.cells[attrs["id"]] = {}
        if tag == "td":
            self.cells[self.sections[-1]].setdefault(attrs["data-col"], []).append(
                attrs["data-value"]
            )

    def handle_data(self, data):
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(self.text)

    def column(self, section: str, key: str) -> list[str]:
        return self.cells[section][key]


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
                ('team', date '2026-11-01', true, 3, 3, 900.0, 300.0, 600.0, 66.67, 80.0, 100.0, 50, 40, 7.5, false),
                ('team', date '2026-10-01', false, 3, 3, 900.0, 100.0, 800.0, 88.89, 80.0, 33.3, 50, 40, 2.5, false),
                ('<b>pro</b>', date '2026-11-01', true, 1, 1, 100.0, 150.0, -50.0, -50.0, 70.0, 150.0, 9, 3, 50.0, true)
            ) as t(plan_id, month, is_month_to_date, customers, active_customers, revenue_usd,
                   ai_cost_usd, gross_margin_usd, gross_margin_pct, target_gross_margin_pct,
                   cost_per_active_customer_usd, tasks, successful_tasks,
                   cost_per_successful_task_usd, is_negative_margin)
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


def test_the_html_report_names_no_path_of_the_machine(built):
    """The report is forwarded: it names the serving file within the data directory only."""
    html = render_html(read_report(built.serving / "llm_margin.duckdb"))
    assert str(built.root) not in html and "/tmp/" not in html
    assert "serving/llm_margin.duckdb" in html
