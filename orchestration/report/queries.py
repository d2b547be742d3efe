"""Everything the weekly founder report reads, from the serving copy, as plain data.

Each section answers one question for one ISO week and compares it with the previous ISO week.
Sections read the marts that hold their definition and never re-derive a figure: cost and calls
over any window are sums of ``marts.mart_daily_ai_cost`` (every call charged to its task's
customer and workspace, as in the margin and budget marts), cost per successful task, fallback
rate, gross margin and budget state come from their own marts. A section whose mart is not in
the serving copy says so instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from orchestration.report.thresholds import RUNAWAY_MIN_SPEND_USD
from orchestration.report.weeks import IsoWeek
from orchestration.settings import as_of_date

# Column kinds decide formatting in both renderers: text, int, usd, usd4 (small money), pct
# (a share 0..1), pct_points (a difference of two shares), ratio, delta_usd, delta_pct (relative).
# PERCENT and PERCENT_POINTS are values already in percent (the margin marts' *_pct columns).
TEXT, INT, USD, USD4, PCT, PCT_POINTS, DELTA_USD, DELTA_REL, RATIO, PERCENT, PERCENT_POINTS = (
    "text",
    "int",
    "usd",
    "usd4",
    "pct",
    "pct_points",
    "delta_usd",
    "delta_rel",
    "ratio",
    "percent",
    "percent_points",
)
# Codes shown in plain words (orchestration/report/wording.py): a budget state, an unpriced reason.
BUDGET_STATE, UNPRICED_REASON = "budget_state", "unpriced_reason"
DELTA_INT = "delta_int"  # a change in a count
# Which way a change is good: margin up is good (UP), cost up is bad (DOWN is better).
UP, DOWN = "up", "down"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = TEXT
    better: str | None = None  # UP or DOWN: the direction of a change that is good news
    # For an id column: the row key of the name to show instead (the id stays in data-value and
    # on hover in HTML, in its own column in the terminal unless terminal_id is False).
    name_key: str | None = None
    terminal_id: bool = True


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart: one bar per row for ``value``, a thin one for ``previous``."""

    label: str  # row key of the bar's label
    value: str
    previous: str | None
    kind: str
    axis: str  # what the scale measures, written under it
    previous_label: str = "last week"
    current_label: str = "this week"
    hint: str | None = None  # row key shown on hover (an id)
    reference: float | None = None  # a line across the chart (a cap: 1.0 = 100%)
    reference_label: str = ""
    marker: str | None = None  # row key of a per-row tick (a target)
    marker_label: str = ""


@dataclass
class Section:
    key: str
    title: str
    question: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chart: Chart | None = None
    unavailable: str | None = None  # why the section could not be built (a mart is missing)
    empty: str = "Nothing in this section this week."  # the one thing shown when there are no rows


@dataclass(frozen=True)
class Figure:
    """A headline figure with last week's value and the change (None when there is no base)."""

    label: str
    value: object
    kind: str
    previous: object
    change: float | None
    change_kind: str
    better: str | None  # UP, DOWN, or None when neither way is good news in itself


def _ratio(part, whole) -> float | None:
    return None if not whole else float(part) / float(whole)


def _relative(value, previous) -> float | None:
    return None if not previous or value is None else float(value) / float(previous) - 1


@dataclass
class WeeklyReport:
    week: IsoWeek
    previous: IsoWeek
    source: Path
    first_day: date | None  # of all usage data in the warehouse
    last_day: date | None
    days_with_data: int  # in the week
    previous_days_with_data: int
    headline: dict = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    health: dict = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return self.days_with_data > 0

    @property
    def figures(self) -> list[Figure]:
        """The headline: AI cost (up is bad), calls and tasks (volume: neither good nor bad in
        itself), task success rate (up is good), each against last week."""
        h = self.headline
        if not h:
            return []
        rate = _ratio(h["successful_tasks"], h["tasks"])
        previous_rate = _ratio(h["previous_successful_tasks"], h["previous_tasks"])
        return [
            Figure(
                "AI cost",
                h["cost_usd"],
                USD,
                h["previous_cost_usd"],
                _relative(h["cost_usd"], h["previous_cost_usd"]),
                DELTA_REL,
                DOWN,
            ),
            Figure(
                "calls",
                h["calls"],
                INT,
                h["previous_calls"],
                _relative(h["calls"], h["previous_calls"]),
                DELTA_REL,
                None,
            ),
            Figure(
                "tasks started",
                h["tasks"],
                INT,
                h["previous_tasks"],
                _relative(h["tasks"], h["previous_tasks"]),
                DELTA_REL,
                None,
            ),
            Figure(
                "task success rate",
                rate,
                PCT,
                previous_rate,
                None if rate is None or previous_rate is None else rate - previous_rate,
                PCT_POINTS,
                UP,
            ),
        ]

    @property
    def covered(self) -> tuple[date, date] | None:
        """The days of the week that usage data covers (first..last), None when it has none."""
        if not self.has_data or self.first_day is None or self.last_day is None:
            return None
        return max(self.first_day, self.week.start), min(self.last_day, self.week.end)

    @property
    def is_partial(self) -> bool:
        covered = self.covered
        return covered is not None and covered != (self.week.start, self.week.end)

    @property
    def is_previous_partial(self) -> bool:
        if self.first_day is None or self.last_day is None:
            return True
        return self.first_day > self.previous.start or self.last_day < self.previous.end


class ReportError(Exception):
    """The report cannot be made (no serving copy, a malformed week)."""


@dataclass
class Names:
    """Customer and workspace names from the billing dimensions (``marts.dim_customers``,
    ``marts.dim_workspaces``). An id billing does not know (usage only, '(untagged)') is shown as
    itself; a workspace is named with its customer, since workspace names repeat ('Default')."""

    customers: dict[str, str] = field(default_factory=dict)
    workspaces: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, tables: set[str]) -> Names:
        names = cls()
        if "marts.dim_customers" in tables:
            names.customers = dict(
                con.execute(
                    "select customer_id, customer_name from marts.dim_customers "
                    "where customer_name is not null and trim(customer_name) != ''"
                ).fetchall()
            )
        if "marts.dim_workspaces" in tables:
            names.workspaces = {
                workspace: (name if name and name.strip() else None, customer)
                for workspace, name, customer in con.execute(
                    "select workspace_id, workspace_name, customer_id from marts.dim_workspaces"
                ).fetchall()
            }
        return names

    def customer(self, customer_id: str | None) -> str | None:
        """The customer's name, None when billing does not name it."""
        return None if customer_id is None else self.customers.get(customer_id)

    def workspace(self, workspace_id: str | None) -> str | None:
        """The workspace's own name (to show beside its customer's), None when billing has none."""
        return self.workspaces.get(workspace_id or "", (None, None))[0]

    def workspace_in_full(self, workspace_id: str | None, customer_id: str | None = None) -> str:
        """'Customer / Workspace', each by name or else by id: how a workspace is named where no
        customer column is beside it."""
        _, billed_customer = self.workspaces.get(workspace_id or "", (None, None))
        customer_id = customer_id or billed_customer
        customer = self.customer(customer_id) or customer_id
        workspace = self.workspace(workspace_id) or workspace_id or "(no workspace)"
        return workspace if customer is None else f"{customer} / {workspace}"


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def latest_week(con: duckdb.DuckDBPyConnection) -> IsoWeek | None:
    """The latest ISO week with usage data (never the wall clock: data can be in the past)."""
    last = con.execute("select max(event_date) from marts.mart_daily_ai_cost").fetchone()[0]
    return None if last is None else IsoWeek.of(last)


def read_report(serving_file: Path, week: IsoWeek | None = None, top: int = 10) -> WeeklyReport:
    if not serving_file.exists():
        raise ReportError(
            f"{serving_file} does not exist yet: run `llm-margin materialize` first "
            "(the report reads the serving copy it publishes)"
        )
    with duckdb.connect(str(serving_file), read_only=True) as con:
        tables = _tables(con)
        first, last = con.execute(
            "select min(event_date), max(event_date) from marts.mart_daily_ai_cost"
        ).fetchone()
        if week is None:
            week = IsoWeek.of(last) if last is not None else IsoWeek.of(date.today())
        prev = week.previous()
        days = [
            con.execute(
                "select count(distinct event_date) from marts.mart_daily_ai_cost "
                "where event_date between ? and ?",
                [w.start, w.end],
            ).fetchone()[0]
            for w in (week, prev)
        ]
        report = WeeklyReport(week, prev, serving_file, first, last, days[0], days[1])
        names = Names.read(con, tables)
        report.health = _health(con, tables, week, names)
        if not report.has_data:
            return report
        params = [week.start, week.end, prev.start, prev.end]
        report.headline = _headline(con, params)
        report.sections = [
            _top_customers(con, params, top, names),
            _feature_unit_costs(con, week, prev),
            _route_fallbacks(con, week, prev),
            _plan_margin(con, tables, week),
            _workspaces_near_caps(con, tables, week, top, names),
            _unpriced(con, params),
        ]
        from orchestration.report.whatif import cheapest_equivalent

        cheapest = cheapest_equivalent(con, tables)  # only when what-if scenarios were built
        if cheapest is not None:
            report.sections.append(cheapest)
    return report


def _headline(con, params) -> dict:
    sql = """
        select
            sum(cost_usd) filter (where event_date between ? and ?),
            sum(cost_usd) filter (where event_date between ? and ?),
            sum(calls) filter (where event_date between ? and ?),
            sum(calls) filter (where event_date between ? and ?)
        from marts.mart_daily_ai_cost
    """
    w0, w1, p0, p1 = params
    cost, prev_cost, calls, prev_calls = con.execute(sql, [w0, w1, p0, p1] * 2).fetchone()
    tasks = con.execute(
        "select count(*) filter (where task_date between ? and ?), "
        "count(*) filter (where task_date between ? and ? and is_successful), "
        "count(*) filter (where task_date between ? and ?), "
        "count(*) filter (where task_date between ? and ? and is_successful) from marts.fct_tasks",
        [w0, w1, w0, w1, p0, p1, p0, p1],
    ).fetchone()
    return {
        "cost_usd": cost or 0,
        "previous_cost_usd": prev_cost or 0,
        "calls": calls,
        "previous_calls": prev_calls,
        "tasks": tasks[0],
        "successful_tasks": tasks[1],
        "previous_tasks": tasks[2],
        "previous_successful_tasks": tasks[3],
    }


def _top_customers(con, params, top, names: Names) -> Section:
    rows = _dicts(
        con,
        """
        with this_week as (
            select customer_id, sum(cost_usd) as cost_usd, sum(calls) as calls,
                sum(unpriced_calls) as unpriced_calls
            from marts.mart_daily_ai_cost where event_date between ? and ? group by 1
        ),
        last_week as (
            select customer_id, sum(cost_usd) as cost_usd
            from marts.mart_daily_ai_cost where event_date between ? and ? group by 1
        )
        select
            this_week.customer_id,
            this_week.calls,
            this_week.cost_usd,
            this_week.cost_usd / nullif(sum(this_week.cost_usd) over (), 0) as share_of_cost,
            last_week.cost_usd as previous_cost_usd,
            this_week.cost_usd - coalesce(last_week.cost_usd, 0) as change_usd,
            this_week.cost_usd / nullif(last_week.cost_usd, 0) - 1 as change_rel,
            this_week.unpriced_calls
        from this_week
        left join last_week on this_week.customer_id = last_week.customer_id
        order by this_week.cost_usd desc nulls last, this_week.customer_id
        limit ?
        """,
        [*params, top],
    )
    for row in rows:
        row["customer_name"] = names.customer(row["customer_id"])
    return Section(
        "top-customers",
        "Top customers by AI cost",
        "Who costs the most this week, and how that moved since last week.",
        [
            Column("customer_id", "customer", name_key="customer_name"),
            Column("calls", "calls", INT),
            Column("cost_usd", "AI cost", USD),
            Column("share_of_cost", "share of week", PCT),
            Column("previous_cost_usd", "last week", USD),
            Column("change_usd", "change", DELTA_USD, better=DOWN),
            Column("change_rel", "change %", DELTA_REL, better=DOWN),
            Column("unpriced_calls", "unpriced calls", INT),
        ],
        rows,
        [
            "AI cost sums the priced calls of the week (UTC dates); unpriced calls are counted, not "
            "costed. A rise in cost is shown in red, a fall in green."
        ],
        Chart(
            "customer_name",
            "cost_usd",
            "previous_cost_usd",
            USD,
            "AI cost in the week (USD)",
            hint="customer_id",
        ),
        empty="No customer had a priced call this week.",
    )


def _feature_unit_costs(con, week: IsoWeek, prev: IsoWeek) -> Section:
    rows = _dicts(
        con,
        """
        select
            this_week.feature,
            this_week.tasks,
            this_week.successful_tasks,
            this_week.success_rate,
            this_week.total_cost_usd,
            this_week.cost_per_successful_task_usd,
            last_week.cost_per_successful_task_usd as previous_cost_per_successful_task_usd,
            this_week.cost_per_successful_task_usd
                / nullif(last_week.cost_per_successful_task_usd, 0) - 1 as change_rel,
            this_week.wasted_cost_share
        from marts.mart_feature_unit_economics as this_week
        left join marts.mart_feature_unit_economics as last_week
            on last_week.period_grain = 'week'
            and last_week.period_start = ?
            and last_week.feature = this_week.feature
        where this_week.period_grain = 'week' and this_week.period_start = ?
        order by this_week.cost_per_successful_task_usd desc nulls last, this_week.feature
        """,
        [prev.start, week.start],
    )
    return Section(
        "feature-unit-costs",
        "Cost per successful task by feature",
        "What one successful task costs per feature, retries, fallbacks and failed tasks included.",
        [
            Column("feature", "feature"),
            Column("tasks", "tasks", INT),
            Column("successful_tasks", "successful", INT),
            Column("success_rate", "success rate", PCT),
            Column("total_cost_usd", "AI cost", USD),
            Column("cost_per_successful_task_usd", "per successful task", USD4),
            Column("previous_cost_per_successful_task_usd", "last week", USD4),
            Column("change_rel", "change %", DELTA_REL, better=DOWN),
            Column("wasted_cost_share", "wasted share", PCT),
        ],
        rows,
        [
            "Tasks are dated by the day they started; cost per successful task divides the cost of "
            "all tasks by the successful ones (marts.mart_feature_unit_economics)."
        ],
        Chart(
            "feature",
            "cost_per_successful_task_usd",
            "previous_cost_per_successful_task_usd",
            USD4,
            "AI cost per successful task (USD)",
        ),
        empty="No task started this week.",
    )


def _route_fallbacks(con, week: IsoWeek, prev: IsoWeek) -> Section:
    rows = _dicts(
        con,
        """
        select
            this_week.original_route,
            this_week.tasks_started,
            this_week.tasks_fallen_back,
            this_week.fallback_rate,
            last_week.fallback_rate as previous_fallback_rate,
            this_week.fallback_rate - last_week.fallback_rate as change_points,
            this_week.fallback_cost_usd
        from marts.mart_route_fallbacks_weekly as this_week
        left join marts.mart_route_fallbacks_weekly as last_week
            on last_week.week_start = ? and last_week.original_route = this_week.original_route
        where this_week.week_start = ?
        order by this_week.fallback_rate desc, this_week.tasks_started desc, this_week.original_route
        """,
        [prev.start, week.start],
    )
    return Section(
        "route-fallbacks",
        "Fallback rate by route",
        "Which routes hand tasks over to another route, and what the fallback attempts cost.",
        [
            Column("original_route", "route"),
            Column("tasks_started", "tasks started", INT),
            Column("tasks_fallen_back", "fell back", INT),
            Column("fallback_rate", "fallback rate", PCT),
            Column("previous_fallback_rate", "last week", PCT),
            Column("change_points", "change (points)", PCT_POINTS, better=DOWN),
            Column("fallback_cost_usd", "fallback cost", USD),
        ],
        rows,
        [
            "Per original route of each task started in the week (marts.mart_route_fallbacks_weekly)."
        ],
        Chart(
            "original_route",
            "fallback_rate",
            "previous_fallback_rate",
            PCT,
            "share of the route's tasks that fell back to another route",
        ),
        empty="No task started on a route this week.",
    )


def _plan_margin(con, tables: set[str], week: IsoWeek) -> Section:
    month = week.end.replace(day=1)
    previous_month = (month - timedelta(days=1)).replace(day=1)
    section = Section(
        "plan-margin",
        "Gross margin by plan",
        f"Revenue, AI cost and gross margin per plan for {month:%B %Y}, the month the week ends in.",
        [
            Column("plan_id", "plan"),
            Column("active_customers", "active customers", INT),
            Column("revenue_usd", "revenue", USD),
            Column("ai_cost_usd", "AI cost", USD),
            Column("gross_margin_usd", "gross margin", USD),
            Column("gross_margin_pct", "margin %", PERCENT),
            Column("target_gross_margin_pct", "target %", PERCENT),
            Column("previous_gross_margin_pct", "previous month %", PERCENT),
            Column("change_points", "change (points)", PERCENT_POINTS, better=UP),
            Column("cost_per_successful_task_usd", "per successful task", USD4),
        ],
        chart=Chart(
            "plan_id",
            "gross_margin_pct",
            "previous_gross_margin_pct",
            PERCENT,
            "AI gross margin (% of revenue)",
            "previous month",
            "this month",
            marker="target_gross_margin_pct",
            marker_label="target",
        ),
        empty=f"No plan has revenue or usage in {month:%B %Y}.",
    )
    if "marts.mart_plan_monthly_margin" not in tables:
        section.unavailable = (
            "marts.mart_plan_monthly_margin is not in the serving copy yet (margin marts)."
        )
        return section
    section.rows = _dicts(
        con,
        """
        select
            this_month.plan_id,
            this_month.is_month_to_date,
            this_month.active_customers,
            this_month.revenue_usd,
            this_month.ai_cost_usd,
            this_month.gross_margin_usd,
            this_month.gross_margin_pct,
            this_month.target_gross_margin_pct,
            last_month.gross_margin_pct as previous_gross_margin_pct,
            this_month.gross_margin_pct - last_month.gross_margin_pct as change_points,
            this_month.cost_per_successful_task_usd,
            this_month.is_negative_margin,
            this_month.unconverted_customers
        from marts.mart_plan_monthly_margin as this_month
        left join marts.mart_plan_monthly_margin as last_month
            on last_month.month = ? and last_month.plan_id = this_month.plan_id
        where this_month.month = ?
        order by this_month.gross_margin_pct asc nulls last, this_month.plan_id
        """,
        [previous_month, month],
    )
    mtd = any(row["is_month_to_date"] for row in section.rows)
    section.notes = [
        f"{month:%B %Y} is {'month to date' if mtd else 'a full month'}; the change is in margin "
        f"percentage points against {previous_month:%B %Y} as a whole (the mart holds months, not "
        "weeks: a percentage compares across unequal spans, dollars would not).",
    ]
    negative = [row["plan_id"] for row in section.rows if row["is_negative_margin"]]
    if negative:
        section.notes.append(f"Negative gross margin: {', '.join(negative)}.")
    unconverted = [row["plan_id"] for row in section.rows if row["unconverted_customers"]]
    if unconverted:
        section.notes.append(
            f"Revenue not converted to USD for want of an exchange rate: {', '.join(unconverted)}. "
            "Their revenue and margin are blank (–), not counted as zero; load a newer ECB rates "
            "file into landing/fx (docs/currencies.md)."
        )
    if any(
        row["gross_margin_pct"] is None and not row["unconverted_customers"] for row in section.rows
    ):
        section.notes.append(
            "A plan without revenue in the month has no margin percentage (–); its gross margin "
            "in dollars is minus its AI cost."
        )
    return section


def _workspaces_near_caps(con, tables: set[str], week: IsoWeek, top: int, names: Names) -> Section:
    section = Section(
        "workspaces-near-caps",
        "Workspaces closest to their budget caps",
        "Workspaces with a monthly hard cap, by share of the cap spent by the end of the week.",
        [
            Column("workspace_id", "workspace", name_key="workspace_name"),
            Column("customer_id", "customer", name_key="customer_name", terminal_id=False),
            Column("budget_usd", "cap", USD),
            Column("spend_usd", "spent by week end", USD),
            Column("share_used", "share of cap", PCT),
            Column("previous_share_used", "a week earlier", PCT),
            Column("change_points", "change (points)", PCT_POINTS, better=DOWN),
            Column("state", "state now", BUDGET_STATE),
        ],
        chart=Chart(
            "workspace_label",
            "share_used",
            "previous_share_used",
            PCT,
            "share of the monthly hard cap spent",
            "a week earlier",
            hint="workspace_id",
            reference=1.0,
            reference_label="cap",
        ),
        empty="No workspace has a monthly hard cap this month.",
    )
    if "marts.mart_budget_status" not in tables:
        section.unavailable = "marts.mart_budget_status is not in the serving copy yet (budgets)."
        return section
    period = week.end.replace(day=1)
    prev_end = week.end - timedelta(days=7)
    section.rows = _dicts(
        con,
        """
        with caps as (
            select scope_id as workspace_id, customer_id, period_start, budget_usd, state
            from marts.mart_budget_status
            where scope = 'workspace' and budget_source = 'workspace_hard_cap' and period_start = ?
        ),
        spend as (
            select
                daily.workspace_id,
                sum(daily.cost_usd) filter (where daily.event_date <= ?) as spend_usd,
                sum(daily.cost_usd) filter (where daily.event_date <= ?) as previous_spend_usd
            from marts.mart_daily_ai_cost as daily
            where daily.event_date between ? and ?
            group by daily.workspace_id
        )
        select
            caps.workspace_id,
            caps.customer_id,
            caps.budget_usd,
            coalesce(spend.spend_usd, 0) as spend_usd,
            cast(coalesce(spend.spend_usd, 0) as double) / nullif(caps.budget_usd, 0) as share_used,
            cast(coalesce(spend.previous_spend_usd, 0) as double) / nullif(caps.budget_usd, 0)
                as previous_share_used,
            cast(coalesce(spend.spend_usd, 0) - coalesce(spend.previous_spend_usd, 0) as double)
                / nullif(caps.budget_usd, 0) as change_points,
            caps.state
        from caps
        left join spend on caps.workspace_id = spend.workspace_id
        order by share_used desc nulls last, caps.workspace_id
        limit ?
        """,
        [period, week.end, prev_end, period, week.end, top],
    )
    for row in section.rows:
        row["workspace_name"] = names.workspace(row["workspace_id"])
        row["customer_name"] = names.customer(row["customer_id"])
        row["workspace_label"] = names.workspace_in_full(row["workspace_id"], row["customer_id"])
    section.notes = [
        f"Caps are monthly: spend counts from {period:%d %B %Y} to the end of the week "
        f"({week.end:%d %B}), and a week earlier to {prev_end:%d %B} (0 before the month began). "
        "'state now' is the budget mart's state as of the latest data (docs/budgets.md); the "
        "line on the chart is the cap.",
    ]
    return section


def _unpriced(con, params) -> Section:
    rows = _dicts(
        con,
        """
        with weeks as (
            select
                provider,
                model,
                unpriced_reason,
                coalesce(sum(calls) filter (where event_date between ? and ?), 0) as calls,
                sum(prompt_tokens + completion_tokens)
                    filter (where event_date between ? and ?) as tokens,
                coalesce(sum(calls) filter (where event_date between ? and ?), 0) as previous_calls
            from marts.mart_daily_ai_cost
            where unpriced_reason is not null
            group by provider, model, unpriced_reason
        )
        select *, calls - previous_calls as change_calls
        from weeks
        where calls > 0 or previous_calls > 0
        order by calls desc, previous_calls desc, provider, model
        """,
        [params[0], params[1], params[0], params[1], params[2], params[3]],
    )
    return Section(
        "unpriced-usage",
        "Unpriced usage",
        "Calls whose model has no price: their cost is unknown, not zero.",
        [
            Column("provider", "provider"),
            Column("model", "model"),
            Column("unpriced_reason", "reason", UNPRICED_REASON),
            Column("calls", "calls", INT),
            Column("tokens", "tokens", INT),
            Column("previous_calls", "last week", INT),
            Column("change_calls", "change", DELTA_INT, better=DOWN),
        ],
        rows,
        ["Add a price file for these models to landing/pricing/ (docs/pricing.md) and rebuild."],
        empty="Every call this week and last week had a price.",
    )


def _health(con, tables: set[str], week: IsoWeek, names: Names) -> dict:
    """Data health the founder should know about: landing files and quarantine (every load so
    far), the week's runaway workspaces (those that spent at least RUNAWAY_MIN_SPEND_USD that day
    listed, the rest counted) and restatements."""
    health: dict = {}
    if "audit.usage_event_file_loads" in tables:
        health["files"] = _dicts(
            con,
            "select count(*) as files, coalesce(sum(records_read), 0) as records_read, "
            "coalesce(sum(records_loaded), 0) as records_loaded, "
            "coalesce(sum(records_quarantined), 0) as records_quarantined, "
            "count(*) filter (where not is_reconciled) as unreconciled_files "
            "from audit.usage_event_file_loads",
        )[0]
    if "audit.quarantined_usage_events" in tables:
        health["quarantine"] = con.execute(
            "select error_code, error_field, count(*) from audit.quarantined_usage_events "
            "group by 1, 2 order by 3 desc, 1, 2"
        ).fetchall()
    health["restatements"] = [
        {**row, "customer_label": names.customer(row["customer_id"]) or row["customer_id"]}
        for row in _dicts(
            con,
            "select customer_id, strftime(month, '%Y-%m') as month, calls_restated, "
            "cost_before_usd, cost_after_usd, delta_usd from marts.mart_price_restatements "
            "order by abs(delta_usd) desc, customer_id limit 10",
        )
    ]
    runaways = _dicts(
        con,
        "select workspace_id, customer_id, spend_date, reason, spend_usd, spend_ratio, "
        "runaway_tasks, max_task_attempts "
        "from marts.mart_runaway_workspaces where spend_date between ? and ? "
        "order by spend_usd desc, spend_date desc, workspace_id",
        [week.start, week.end],
    )
    listed = [row for row in runaways if row["spend_usd"] >= RUNAWAY_MIN_SPEND_USD]
    for row in listed:
        row["workspace_label"] = names.workspace_in_full(row["workspace_id"], row["customer_id"])
    small = [row for row in runaways if row["spend_usd"] < RUNAWAY_MIN_SPEND_USD]
    health["runaways"] = listed[:10]
    health["runaways_not_shown"] = len(listed) - len(health["runaways"])
    health["small_runaways"] = len(small)
    health["small_runaways_usd"] = sum((row["spend_usd"] for row in small), Decimal(0))
    health["runaway_min_spend_usd"] = RUNAWAY_MIN_SPEND_USD
    if "marts.mart_provider_daily_gaps" in tables and "marts.fct_llm_calls" in tables:
        health["provider_gaps"] = provider_gaps_yesterday(con)
    return health


def provider_gaps_yesterday(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Yesterday's providers whose own reports differ from our computed cost by more than the
    tolerance, or that have calls and no report (yesterday: the day before the as-of date,
    ``orchestration.settings.as_of_date``); worst first."""
    yesterday = as_of_date(lambda sql: con.execute(sql).fetchall()) - timedelta(days=1)
    return _dicts(
        con,
        "select provider, usage_date, computed_cost_usd, provider_cost_usd, gap_usd, gap_pct, "
        "tolerance_pct, is_reported, our_calls, largest_gap_model, largest_gap_usd, "
        "largest_gap_cause from marts.mart_provider_daily_gaps "
        "where usage_date = ? and (is_within_tolerance = false or (not is_reported and our_calls > 0)) "
        "order by abs(coalesce(gap_usd, computed_cost_usd)) desc, provider",
        [yesterday],
    )
