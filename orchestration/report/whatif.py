"""One what-if scenario's comparison, read from the what-if marts
(``marts.mart_whatif_feature_route``, ``marts.mart_whatif_plan_margin``) and laid out as report
sections, printed by ``llm-margin whatif`` and written as an HTML page (whatif_page.py).

Every figure is the marts': nothing here re-prices or re-derives a cost; the totals line sums
the mart's rows, and says how many calls are unpriced instead of counting them as $0."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

from orchestration.report.queries import (
    DELTA_USD,
    DOWN,
    INT,
    PERCENT,
    TEXT,
    UP,
    USD,
    USD4,
    Column,
    Section,
)

FEATURE_ROUTE_MART = "marts.mart_whatif_feature_route"
PLAN_MARGIN_MART = "marts.mart_whatif_plan_margin"

FEATURE_ROUTE_SQL = f"""
select
    feature, route, period_start, period_end, price_basis, price_date, candidate_provider,
    candidate_model, candidate_service_tier, assumptions, calls, successful_tasks,
    actual_cost_usd, scenario_cost_usd, cost_difference_usd, actual_unpriced_calls,
    scenario_unpriced_calls, scenario_unpriced_reasons, actual_cost_per_successful_task_usd,
    scenario_cost_per_successful_task_usd
from {FEATURE_ROUTE_MART}
where scenario_id = ?
order by cost_difference_usd nulls last, feature nulls last, route nulls last
"""

PLAN_MARGIN_SQL = f"""
select
    plan_id, customers, revenue_usd, actual_ai_cost_usd, scenario_ai_cost_usd,
    actual_gross_margin_usd, scenario_gross_margin_usd, actual_gross_margin_pct,
    scenario_gross_margin_pct, scenario_unpriced_calls
from {PLAN_MARGIN_MART}
where scenario_id = ?
order by plan_id
"""


class WhatIfError(Exception):
    """The comparison cannot be read (the marts are missing, the scenario has no rows)."""


@dataclass
class WhatIfReport:
    scenario_id: str
    scenario_file: str
    description: str | None
    feature_routes: list[dict] = field(default_factory=list)
    plans: list[dict] = field(default_factory=list)

    @property
    def period(self) -> tuple[date, date] | None:
        """First day and the day after the last, as the marts resolved them."""
        rows = self.feature_routes
        if not rows:
            return None
        return min(r["period_start"] for r in rows), max(r["period_end"] for r in rows)

    @property
    def assumptions(self) -> list[str]:
        """Each rule's sentence once, in the order of the rows."""
        seen: list[str] = []
        for row in self.feature_routes:
            text = row.get("assumptions")
            if text and text not in seen:
                seen.append(text)
        return seen

    @property
    def price_basis(self) -> str:
        """The price basis in words, from the marts' price_basis and price_date."""
        bases = {(r["price_basis"], r["price_date"]) for r in self.feature_routes}
        if not bases:
            return "no calls in the period: nothing was priced"
        return "; ".join(price_basis_words(basis, day) for basis, day in sorted(bases, key=str))

    def totals(self) -> dict:
        rows = self.feature_routes

        def total(key):
            values = [r[key] for r in rows if r[key] is not None]
            return sum(values) if values else None

        return {
            "calls": sum(r["calls"] or 0 for r in rows),
            "actual_cost_usd": total("actual_cost_usd"),
            "scenario_cost_usd": total("scenario_cost_usd"),
            "actual_unpriced_calls": sum(r["actual_unpriced_calls"] or 0 for r in rows),
            "scenario_unpriced_calls": sum(r["scenario_unpriced_calls"] or 0 for r in rows),
        }

    def summary(self) -> str:
        t = self.totals()
        from orchestration.report.formatting import fmt

        if t["actual_cost_usd"] is None and t["scenario_cost_usd"] is None:
            line = f"{t['calls']:,} calls replayed; none of them is priced either way."
        else:
            difference = (
                None
                if t["actual_cost_usd"] is None or t["scenario_cost_usd"] is None
                else t["scenario_cost_usd"] - t["actual_cost_usd"]
            )
            line = (
                f"{t['calls']:,} calls replayed: actual cost {fmt(t['actual_cost_usd'], USD)}, "
                f"under the scenario {fmt(t['scenario_cost_usd'], USD)} "
                f"({fmt(difference, DELTA_USD)})."
            )
        unpriced = []
        if t["actual_unpriced_calls"]:
            unpriced.append(f"{t['actual_unpriced_calls']:,} calls are unpriced as they ran")
        if t["scenario_unpriced_calls"]:
            unpriced.append(f"{t['scenario_unpriced_calls']:,} calls are unpriced on the candidate")
        if unpriced:
            line += (
                " " + " and ".join(unpriced).capitalize() + ": they are left out of the costs, "
                "not counted as $0."
            )
        return line


def price_basis_words(basis: str, day: date | None) -> str:
    if basis == "call_time":
        return "every call priced at the prices in force at its own time"
    if basis == "today":
        # the marts' date for `today` is the first day of the prices in force on the build date
        since = f" (in force since {day})" if day is not None else ""
        return f"today's prices{since}, not the prices of each call's date"
    return f"the prices in force on {day}, not the prices of each call's date"


def read_whatif(
    con: duckdb.DuckDBPyConnection,
    scenario_id: str,
    scenario_file: str = "",
    description: str | None = None,
) -> WhatIfReport:
    """The comparison of ``scenario_id`` from the marts in ``con`` (the warehouse or its serving
    copy); the scenario id is a bound parameter."""
    tables = {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }
    missing = [m for m in (FEATURE_ROUTE_MART, PLAN_MARGIN_MART) if m not in tables]
    if missing:
        raise WhatIfError(
            f"{', '.join(missing)} not built: the what-if models are missing from the warehouse"
        )
    report = WhatIfReport(scenario_id, scenario_file, description)
    report.feature_routes = _dicts(con, FEATURE_ROUTE_SQL, [scenario_id])
    report.plans = _dicts(con, PLAN_MARGIN_SQL, [scenario_id])
    return report


def _dicts(con, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _candidate(row: dict) -> str:
    if row.get("candidate_model") is None:
        model = "own model"
    else:
        model = f"{row.get('candidate_provider') or ''} {row['candidate_model']}".strip()
    tier = row.get("candidate_service_tier")
    if tier and tier != "observed":
        model += f" ({tier})"
    return model


def sections(report: WhatIfReport) -> list[Section]:
    rows = [{**row, "candidate": _candidate(row)} for row in report.feature_routes]
    by_route = Section(
        key="whatif-feature-route",
        title="Cost by feature and route",
        question="What would each feature and route have cost under the scenario?",
        columns=[
            Column("feature", "feature"),
            Column("route", "route"),
            Column("candidate", "priced as"),
            Column("calls", "calls", INT),
            Column("successful_tasks", "successful tasks", INT),
            Column("actual_cost_usd", "actual", USD),
            Column("scenario_cost_usd", "scenario", USD),
            Column("cost_difference_usd", "difference", DELTA_USD, better=DOWN),
            Column("actual_cost_per_successful_task_usd", "per task, actual", USD4),
            Column("scenario_cost_per_successful_task_usd", "per task, scenario", USD4),
            Column("actual_unpriced_calls", "unpriced, actual", INT),
            Column("scenario_unpriced_calls", "unpriced, scenario", INT),
            Column("scenario_unpriced_reasons", "why unpriced", TEXT),
        ],
        rows=rows,
        notes=[
            "Costs sum priced calls only; unpriced calls are counted in their own columns, "
            "never as $0. A difference below zero is a saving.",
        ],
        empty="The scenario's period holds no calls.",
    )
    by_plan = Section(
        key="whatif-plan-margin",
        title="Gross margin by plan",
        question="What would each plan's AI gross margin have been under the scenario?",
        columns=[
            Column("plan_id", "plan"),
            Column("customers", "customers", INT),
            Column("revenue_usd", "revenue", USD),
            Column("actual_ai_cost_usd", "AI cost, actual", USD),
            Column("scenario_ai_cost_usd", "AI cost, scenario", USD),
            Column("actual_gross_margin_usd", "margin, actual", USD),
            Column("scenario_gross_margin_usd", "margin, scenario", USD),
            Column("actual_gross_margin_pct", "margin %, actual", PERCENT),
            Column("scenario_gross_margin_pct", "margin %, scenario", PERCENT, better=UP),
            Column("scenario_unpriced_calls", "unpriced, scenario", INT),
        ],
        rows=list(report.plans),
        notes=[
            "Revenue is the period's recognised revenue; a margin % is blank when revenue is 0."
        ],
        empty="No plan had customers with revenue or calls in the period.",
    )
    return [by_route, by_plan]


# The weekly report's "Cheapest equivalent": per feature, the scenario that saves the most over
# its own period. Only rows a rule changed count (a candidate model or a service tier other than
# the observed one): calls no rule matches are replayed unchanged and would only show a price
# change since they ran.
CHEAPEST_SQL = f"""
with changed as (
    select
        scenario_id, feature,
        min(period_start) as period_start, max(period_end) as period_end,
        sum(actual_cost_usd) as actual_cost_usd,
        sum(scenario_cost_usd) as scenario_cost_usd,
        sum(actual_unpriced_calls) as actual_unpriced_calls,
        sum(scenario_unpriced_calls) as scenario_unpriced_calls,
        string_agg(distinct coalesce(candidate_provider || ' ', '') || coalesce(candidate_model, 'own model')
            || case when candidate_service_tier <> 'observed' then ' (' || candidate_service_tier || ')' else '' end,
            ', ') as candidates
    from {FEATURE_ROUTE_MART}
    where candidate_model is not null or candidate_service_tier <> 'observed'
    group by scenario_id, feature
),
ranked as (
    select
        *,
        scenario_cost_usd - actual_cost_usd as cost_difference_usd,
        row_number() over (
            partition by feature order by scenario_cost_usd - actual_cost_usd, scenario_id
        ) as saving_rank
    from changed
    where
        scenario_cost_usd < actual_cost_usd
        -- a candidate that leaves calls unpriced would look cheaper for it: not an equivalent
        and scenario_unpriced_calls <= actual_unpriced_calls
)
select
    feature, scenario_id, candidates, period_start, period_end, actual_cost_usd,
    scenario_cost_usd, cost_difference_usd, scenario_unpriced_calls
from ranked
where saving_rank = 1
order by cost_difference_usd, feature
"""


def cheapest_equivalent(con: duckdb.DuckDBPyConnection, tables: set[str]) -> Section | None:
    """The weekly report's "Cheapest equivalent" section; None (no section at all) when no
    scenario was built."""
    if FEATURE_ROUTE_MART not in tables:
        return None
    if not con.execute(f"select count(*) from {FEATURE_ROUTE_MART}").fetchone()[0]:
        return None
    rows = _dicts(con, CHEAPEST_SQL, [])
    for row in rows:
        row["period"] = f"{row['period_start']} to {row['period_end']}"
    return Section(
        key="cheapest-equivalent",
        title="Cheapest equivalent",
        question="Which what-if scenario would save the most on each feature?",
        columns=[
            Column("feature", "feature"),
            Column("scenario_id", "scenario"),
            Column("candidates", "priced as"),
            Column("period", "replayed traffic"),
            Column("actual_cost_usd", "actual", USD),
            Column("scenario_cost_usd", "scenario", USD),
            Column("cost_difference_usd", "difference", DELTA_USD, better=DOWN),
            Column("scenario_unpriced_calls", "unpriced, scenario", INT),
        ],
        rows=rows,
        notes=[
            "Over each scenario's own period of real traffic (not this week), at the prices the "
            "scenario names; only the calls a rule changed, and only scenarios that leave no "
            "more calls unpriced than actually were. `llm-margin whatif SCENARIO` shows "
            "the full comparison and its assumptions.",
        ],
        empty="No scenario lowers the cost of any feature.",
    )
