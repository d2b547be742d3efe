"""The semantic layer answers questions: `llm-margin metrics query` (MetricFlow over the serving
copy) on the shared built data set gives the same numbers as SQL written by hand over the marts,
while this module holds the warehouse open read-write as a build would (so mf must never open it),
and leaves the serving copy as it found it."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration import cli
from orchestration.serving.publish import serving_file


@pytest.fixture(scope="module")
def warehouse(built):
    """The warehouse, open read-write for the whole module: DuckDB lets no other process open the
    file meanwhile, exactly as during a build. The expected numbers are read from it."""
    con = duckdb.connect(str(built.warehouse))
    served = serving_file(built.serving)
    before = served.stat()
    yield con
    con.close()
    after = served.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size), (
        "mf changed the serving copy"
    )


def mf_query(tmp_path: Path, *arguments: str) -> list[dict[str, str]]:
    out = tmp_path / "answer.csv"
    code = cli.main(["metrics", "query", "--quiet", *arguments, "--csv", str(out)])
    assert code == 0, f"llm-margin metrics query {' '.join(arguments)} exited {code}"
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def number(text: str) -> float | None:
    return None if text in ("", "None") else float(Decimal(text))


def approx(value):
    return pytest.approx(value, rel=1e-9, abs=1e-9)


def test_gross_margin_by_plan_and_month_is_revenue_minus_cost_of_the_margin_mart(
    warehouse, tmp_path
):
    rows = mf_query(
        tmp_path,
        "--metrics",
        "gross_margin,revenue,ai_cost,gross_margin_pct",
        "--group-by",
        "metric_time__month,customer_month__plan_id",
    )
    got = {
        (r["customer_month__plan_id"], r["metric_time__month"][:10]): (
            number(r["revenue"]),
            number(r["ai_cost"]),
            number(r["gross_margin"]),
            number(r["gross_margin_pct"]),
        )
        for r in rows
    }
    expected = {
        (plan, str(month)): (
            float(revenue),
            float(cost),
            float(revenue - cost),
            None if revenue == 0 else float(100 * (revenue - cost) / revenue),
        )
        for plan, month, revenue, cost in warehouse.execute(
            "select plan_id, month, sum(revenue_usd), sum(ai_cost_usd) "
            "from marts.mart_customer_monthly_margin group by plan_id, month"
        ).fetchall()
    }
    assert len(expected) >= 3 and any(r > 0 for r, *_ in expected.values())
    assert got.keys() == expected.keys()
    for key, (revenue, cost, margin, pct) in expected.items():
        assert got[key][:3] == approx((revenue, cost, margin)), key
        assert got[key][3] == (None if pct is None else approx(pct)), key
    # and the plan mart, built by its own SQL, agrees on the margin
    for plan, month, margin in warehouse.execute(
        "select plan_id, month, gross_margin_usd from marts.mart_plan_monthly_margin"
    ).fetchall():
        assert got[(plan, str(month))][2] == approx(float(margin))


def test_ai_cost_by_customer_is_the_cost_of_their_calls_and_tasks_join_on_customer(
    warehouse, tmp_path
):
    rows = mf_query(
        tmp_path,
        "--metrics",
        "ai_cost,tasks,success_rate",
        "--group-by",
        "customer,customer__customer_name",
    )
    got = {
        r["customer"]: (number(r["ai_cost"]), number(r["tasks"]), number(r["success_rate"]))
        for r in rows
    }
    names = dict(
        warehouse.execute("select customer_id, customer_name from marts.dim_customers").fetchall()
    )
    assert {r["customer"]: r["customer__customer_name"] or None for r in rows} == {
        customer: names.get(customer) for customer in got
    }
    assert sum(name is not None for name in names.values()) >= 3
    cost = dict(
        warehouse.execute(
            "select customer_id, sum(cost_usd) from marts.fct_llm_calls group by customer_id"
        ).fetchall()
    )
    tasks = {
        customer: (n, ok / n)
        for customer, n, ok in warehouse.execute(
            "select customer_id, count(*), sum(case when is_successful then 1 else 0 end) "
            "from marts.fct_tasks group by customer_id"
        ).fetchall()
    }
    assert len(cost) >= 3 and cost.keys() == tasks.keys() == got.keys()
    for customer, total in cost.items():
        n, rate = tasks[customer]
        assert got[customer] == approx((float(total), n, rate)), customer


def test_cost_per_successful_task_by_feature_counts_failed_tasks_cost(warehouse, tmp_path):
    rows = mf_query(
        tmp_path,
        "--metrics",
        "task_cost_per_successful_task,task_cost,successful_tasks",
        "--group-by",
        "task__feature",
    )
    got = {r["task__feature"]: number(r["task_cost_per_successful_task"]) for r in rows}
    expected = {
        feature: None if ok == 0 else float(total / ok)
        for feature, total, ok in warehouse.execute(
            "select feature, sum(total_cost_usd), sum(case when is_successful then 1 else 0 end) "
            "from marts.fct_tasks group by feature"
        ).fetchall()
    }
    assert len(expected) >= 3 and got.keys() == expected.keys()
    for feature, value in expected.items():
        assert got[feature] == (None if value is None else approx(value)), feature
    # the feature unit-economics mart (its month rows: the data set is inside one month) agrees
    months = warehouse.execute(
        "select count(distinct period_start) from marts.mart_feature_unit_economics "
        "where period_grain = 'month'"
    ).fetchone()[0]
    assert months == 1
    for feature, per_task in warehouse.execute(
        "select feature, cost_per_successful_task_usd from marts.mart_feature_unit_economics "
        "where period_grain = 'month'"
    ).fetchall():
        assert got[feature] == approx(float(per_task)), feature


def test_fallback_rate_by_route_and_week(warehouse, tmp_path):
    rows = mf_query(
        tmp_path,
        "--metrics",
        "fallback_rate,fallback_tasks,tasks",
        "--group-by",
        "metric_time__week,task__original_route",
    )
    got = {
        (r["task__original_route"], r["metric_time__week"][:10]): (
            number(r["fallback_rate"]),
            number(r["fallback_tasks"]),
        )
        for r in rows
    }
    expected = {
        (route, str(week)): (fell / n, fell)
        for route, week, n, fell in warehouse.execute(
            "select original_route, cast(date_trunc('week', task_date) as date), count(*), "
            "sum(case when is_fallback then 1 else 0 end) from marts.fct_tasks group by all"
        ).fetchall()
    }
    assert any(fell > 0 for _, fell in expected.values())
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == approx(value), key


def test_without_a_serving_copy_it_says_to_build_first(data_dir, capsys):
    assert cli.main(["metrics", "query", "--metrics", "ai_cost"]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "no serving copy" in said and "llm_margin.duckdb" in said and "make run" in said


def test_options_before_mfs_command_are_passed_to_mf(built, capfd):
    assert cli.main(["metrics", "--version"]) == 0
    assert "mf, version" in capfd.readouterr().out
    with pytest.raises(SystemExit) as refused:  # other commands still refuse unknown options
        cli.main(["report", "--bogus"])
    assert refused.value.code == 2
