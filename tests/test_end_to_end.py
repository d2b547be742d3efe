"""End to end on a small generated data set: generate → llm-margin materialize → warehouse,
checked against the truth the generator planted (the ``built`` fixture is in conftest.py, shared
with tests/test_report.py)."""

from __future__ import annotations

import csv
import gzip
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from orchestration import cli
from orchestration.dbt.project import parse_project
from orchestration.paths import DataPaths


def _query(paths: DataPaths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _truth(paths: DataPaths):
    return pq.read_table(paths.truth / "events.parquet").to_pandas()


def test_every_valid_call_is_one_row_and_every_malformed_record_is_quarantined(built):
    truth = _truth(built)
    valid = truth[truth["kind"] != "malformed"]
    calls = _query(
        built,
        "select count(*), count(*) filter (where is_incomplete) from staging.stg_usage__events",
    )[0]
    assert calls[0] == valid["event_id"].nunique()
    incomplete = truth[
        truth["is_incomplete_stream"].fillna(False).astype(bool) & (truth["kind"] != "malformed")
    ]
    assert calls[1] == incomplete["event_id"].nunique() > 0

    planted = set(
        zip(
            truth.loc[truth["kind"] == "malformed", "file"],
            truth.loc[truth["kind"] == "malformed", "line"],
            strict=True,
        )
    )
    quarantined = {
        (Path(f).name, int(r))
        for f, r in _query(
            built, "select source_file, source_row from audit.quarantined_usage_events"
        )
    }
    planted = {(Path(f).name, int(r)) for f, r in planted}
    assert quarantined == planted


def test_every_file_reconciles_and_the_summary_adds_up(built):
    unreconciled = _query(
        built, "select count(*) from audit.usage_event_file_loads where not is_reconciled"
    )[0][0]
    assert unreconciled == 0
    read, loaded, quarantined = _query(
        built,
        "select sum(records_read), sum(records_loaded), sum(records_quarantined) from audit.usage_event_file_loads",
    )[0]
    truth = _truth(built)
    assert read == len(truth)
    assert quarantined == int((truth["kind"] == "malformed").sum())
    summary_loaded, summary_quarantined = _query(
        built,
        "select sum(records_loaded), sum(records_quarantined) from marts.mart_customer_usage_summary",
    )[0]
    assert (summary_loaded, summary_quarantined) == (loaded, quarantined)


def test_every_task_matches_the_planted_truth(built):
    truth = pq.read_table(built.truth / "tasks.parquet").to_pandas()
    truth = truth[~truth["has_malformed_record"]].set_index("first_event_id")
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        tasks = (
            con.execute(
                "select first_event_id, customer_id, workspace_id, feature, attempts, retry_attempts, "
                "fallback_attempts, original_route, final_route, is_successful, total_cost_usd "
                "from marts.fct_tasks"
            )
            .fetchdf()
            .set_index("first_event_id")
        )
    assert len(truth) > 100
    assert truth["attempts"].max() >= 20  # a runaway loop is among them
    assert truth["has_tagless_attempt"].any() and (~truth["has_task_id"]).any()
    joined = truth.join(tasks, how="left", lsuffix="_truth")
    for column in (
        "customer_id",
        "workspace_id",
        "feature",
        "attempts",
        "retry_attempts",
        "fallback_attempts",
        "original_route",
        "final_route",
        "is_successful",
    ):
        wrong = joined[joined[f"{column}_truth"].astype(str) != joined[column].astype(str)]
        assert wrong.empty, (column, wrong[[f"{column}_truth", column]].head())

    # Cost: the generator priced every call it made; streams that never closed are billed in full
    # by the provider but only their known tokens are in the data, and a call served by a model
    # our price list lacks (the planted unpriced model of the provider reports) costs nothing in
    # the warehouse, so those tasks are left out.
    events = pq.read_table(built.truth / "events.parquet").to_pandas()
    open_streams = set(
        events.loc[events["is_incomplete_stream"].fillna(False).astype(bool), "task_id"]
    )
    assert joined["has_unpriced_attempt"].any()
    comparable = joined[~joined["task_id"].isin(open_streams) & ~joined["has_unpriced_attempt"]]
    assert len(comparable) > 100
    cost_gap = (comparable["total_cost_usd"].astype(float) - comparable["provider_cost_usd"]).abs()
    assert (cost_gap < 1e-9).all(), comparable.loc[
        cost_gap >= 1e-9, ["provider_cost_usd", "total_cost_usd"]
    ].head()


def test_task_cost_reconciles_with_call_cost(built):
    calls, tasks = _query(
        built,
        "select (select sum(cost_usd) from marts.fct_llm_calls), (select sum(total_cost_usd) from marts.fct_tasks)",
    )[0]
    assert calls == tasks and calls > 0


def _ecb_usd_per_unit(paths: DataPaths) -> dict[tuple[str, str], list[tuple[str, Decimal]]]:
    """From the landed ECB file, read with the csv module: currency → [(date, USD per unit)],
    newest first (the file's order)."""
    rates: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for path in sorted(paths.landing_for("fx").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                usd = Decimal(row["USD"])
                for currency in ("EUR", "GBP"):
                    per_eur = Decimal(1) if currency == "EUR" else Decimal(row[currency])
                    rates[currency].append((row["Date"], usd / per_eur))
    return rates


def _expected_revenue_usd(paths: DataPaths) -> dict[tuple[str, str], Decimal]:
    """The revenue the generator planned (truth/revenue.parquet, paid + open, in the invoice
    currency), converted here at the ECB rate of the month's first day or the latest earlier one:
    every foreign revenue part of the sample serves from the first of a month."""
    rates = _ecb_usd_per_unit(paths)
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in pq.read_table(paths.truth / "revenue.parquet").to_pylist():
        month = str(row["service_month"])[:10]
        amount = Decimal(str(row["revenue"]))
        if row["currency"] != "USD":
            amount *= next(rate for day, rate in rates[row["currency"]] if day <= month)
        expected[(row["customer_id"], month)] += amount
    return dict(expected)


def test_customer_margin_revenue_equals_the_revenue_the_generator_planned(built):
    expected = _expected_revenue_usd(built)
    mart = {
        (customer, month.isoformat()): revenue
        for customer, month, revenue in _query(
            built,
            "select customer_id, month, revenue_usd from marts.mart_customer_monthly_margin",
        )
    }
    months = {month for _, month in mart}
    assert months, "the customer margin mart is empty"
    in_window = {key: amount for key, amount in expected.items() if key[1] in months}
    assert len(in_window) >= 4
    for key, amount in in_window.items():
        assert mart.get(key) is not None and abs(mart[key] - amount) < Decimal("0.000001"), (
            key,
            mart.get(key),
            amount,
        )
    # nothing billed that the generator did not plan
    assert {key: r for key, r in mart.items() if r != 0 and key not in in_window} == {}
    # a void invoice was written (and, by the equality above, is not counted)
    cases = json.loads((built.truth / "summary.json").read_text())["parameters"]["stripe_cases"]
    landed = "".join(p.read_text() for p in built.landing_for("stripe").glob("invoices*"))
    assert f'"{cases["void_invoice"]}"' in landed


def test_mid_month_plan_change_shows_the_later_plan(built):
    summary = json.loads((built.truth / "summary.json").read_text())["parameters"]
    change = summary["plan_change"]
    assert change is not None
    month = change["on"][:8] + "01"
    rows = _query(
        built,
        "select margin.plan_id, revenue.has_plan_change, revenue.invoices "
        "from marts.mart_customer_monthly_margin as margin "
        "inner join intermediate.int_customer_monthly_revenue as revenue "
        "using (customer_id, month) "
        f"where margin.customer_id = '{change['customer_id']}' and margin.month = '{month}'",
    )
    assert rows == [(change["to_plan"], True, 2)]


def test_usage_billing_does_not_know_is_its_own_costed_bucket(built):
    trial = json.loads((built.truth / "summary.json").read_text())["parameters"][
        "trial_customer_id"
    ]
    rows = _query(
        built,
        "select plan_id, is_known_customer, revenue_usd, ai_cost_usd > 0, gross_margin_pct "
        f"from marts.mart_customer_monthly_margin where customer_id = '{trial}'",
    )
    assert rows and all(row == ("(unknown customer)", False, 0, True, None) for row in rows)
    plan = _query(
        built,
        "select sum(ai_cost_usd) from marts.mart_plan_monthly_margin "
        "where plan_id = '(unknown customer)'",
    )[0][0]
    assert plan == sum(
        r[0]
        for r in _query(
            built,
            "select ai_cost_usd from marts.mart_customer_monthly_margin "
            "where not is_known_customer",
        )
    )


def test_every_margin_mart_sums_to_the_call_costs(built):
    calls = _query(built, "select sum(cost_usd) from marts.fct_llm_calls")[0][0]
    assert calls > 0
    for mart in ("customer", "plan", "feature", "channel"):
        total = _query(built, f"select sum(ai_cost_usd) from marts.mart_{mart}_monthly_margin")
        assert total[0][0] == calls, mart
    revenue = {
        mart: _query(built, f"select sum({column}) from marts.mart_{mart}_monthly_margin")[0][0]
        for mart, column in (
            ("customer", "revenue_usd"),
            ("plan", "revenue_usd"),
            ("channel", "revenue_usd"),
            ("feature", "allocated_revenue_usd"),
        )
    }
    assert revenue["customer"] > 0
    assert revenue["plan"] == revenue["channel"] == revenue["customer"]
    assert abs(revenue["feature"] - revenue["customer"]) < Decimal("1e-6")


def test_every_semantic_measure_runs_on_the_warehouse(built):
    manifest = json.loads(parse_project().read_text())
    calls = _query(built, "select sum(cost_usd) from marts.fct_llm_calls")[0][0]
    measured = {}
    for model in manifest["semantic_models"].values():
        relation = f"{model['node_relation']['schema_name']}.{model['node_relation']['alias']}"
        for measure in model["measures"]:
            expr = measure["expr"] or measure["name"]
            measured[measure["name"]] = _query(
                built, f"select {measure['agg']}({expr}) from {relation}"
            )[0][0]
    assert measured["ai_cost_usd"] == calls
    assert measured["task_cost_usd"] == calls
    assert 0 < measured["fallback_tasks"] < measured["successful_tasks"] < measured["tasks"]
    assert measured["margin_successful_tasks"] == measured["successful_tasks"]


def test_every_model_and_column_in_the_warehouse_is_described(built):
    """dbt docs are only useful when complete: every model, every column actually built, every
    source and source table has a description, and no documented column is missing."""
    manifest = json.loads(parse_project().read_text())
    problems = []
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        for node in manifest["nodes"].values():
            if node["resource_type"] != "model":
                continue
            if not node["description"].strip():
                problems.append(f"{node['name']}: no description")
            if node["config"]["materialized"] == "ephemeral":
                # not in the warehouse (inlined into its readers): its documented columns only
                problems += [
                    f"{node['name']}.{name}: no description"
                    for name, column in node["columns"].items()
                    if not (column.get("description") or "").strip()
                ]
                assert node["columns"], f"{node['name']}: ephemeral and no column documented"
                continue
            relation = f"{node['schema']}.{node['alias']}"
            built_columns = [row[0] for row in con.execute(f"describe {relation}").fetchall()]
            for column in built_columns:
                if not (node["columns"].get(column, {}).get("description") or "").strip():
                    problems.append(f"{node['name']}.{column}: no description")
            for column in node["columns"]:
                if column not in built_columns:
                    problems.append(f"{node['name']}.{column}: documented but not built")
    for source in manifest["sources"].values():
        if not source["source_description"].strip() or not source["description"].strip():
            problems.append(f"source {source['source_name']}.{source['name']}: no description")
        for name, column in source["columns"].items():
            if not (column.get("description") or "").strip():
                problems.append(f"source {source['source_name']}.{source['name']}.{name}")
    assert problems == []


def test_materialize_publishes_the_serving_copy_and_the_report_reads_it(built, capsys):
    serving = built.serving / "llm_margin.duckdb"
    with duckdb.connect(str(serving), read_only=True) as con:
        served = con.execute("select count(*), sum(cost_usd) from marts.fct_llm_calls").fetchone()
    assert served == _query(built, "select count(*), sum(cost_usd) from marts.fct_llm_calls")[0]
    assert cli.main(["report"]) == 0
    out = capsys.readouterr().out
    for title in (
        "Top customers by AI cost",
        "Cost per successful task by feature",
        "Fallback rate by route",
        "records read",
        "HTML report:",
    ):
        assert title in out
    assert len(list(built.reports.glob("founder-report-*.html"))) == 1


def test_loading_again_or_receiving_every_record_twice_changes_no_count(built):
    def counts():
        return _query(
            built,
            "select count(*), sum(coalesce(prompt_tokens, 0)), sum(coalesce(completion_tokens, 0)), "
            "count(*) filter (where is_incomplete) from staging.stg_usage__events",
        )[0]

    before = counts()
    versions_before = _query(built, "select sum(versions_received) from staging.stg_usage__events")[
        0
    ][0]

    assert cli.main(["materialize", "--log-level", "WARNING"]) == 0  # nothing new
    assert counts() == before

    # Every record again, in one new file with other content (so it is not skipped as known).
    landing = built.landing_for("usage_events")
    lines = []
    for path in sorted(landing.glob("*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as handle:
            lines += [line.rstrip("\n") for line in handle if line.strip().startswith("{")]
    valid_lines = [line for line in lines if _is_object(line)]
    (landing / "zz-redelivery.jsonl").write_text("\n".join(valid_lines) + "\n")
    assert cli.main(["materialize", "--log-level", "WARNING"]) == 0
    assert counts() == before
    versions_after = _query(built, "select sum(versions_received) from staging.stg_usage__events")[
        0
    ][0]
    redelivered_valid = _query(
        built,
        "select records_loaded from audit.usage_event_file_loads where source_file = 'zz-redelivery.jsonl'",
    )[0][0]
    assert versions_after == versions_before + redelivered_valid
    assert redelivered_valid > 0


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def test_budgets_alerts_and_cap_list_are_built_with_the_marts(built):
    """Budgets follow the documented rules on real data, every crossed threshold of the latest
    month is recorded once, and the cap list file holds the cap table's rows."""
    rows = _query(
        built,
        """
        select budgets.scope, budgets.scope_id, budgets.budget_usd, budgets.spend_usd,
            budgets.as_of, revenue.revenue_usd, plans.target_gross_margin_pct,
            (select max(occurred_at) from marts.fct_llm_calls),
            (select sum(cost_usd) from marts.fct_llm_calls as calls
             where calls.customer_id = budgets.scope_id
             and date_trunc('month', calls.event_date) = budgets.period_start)
        from marts.mart_budget_status as budgets
        left join intermediate.int_customer_monthly_revenue as revenue
            on budgets.scope_id = revenue.customer_id and budgets.period_start = revenue.month
        left join staging.stg_billing__plans as plans on revenue.plan_id = plans.plan_id
        """,
    )
    customers = [r for r in rows if r[0] == "customer"]
    assert customers and {r[0] for r in rows} >= {"customer", "workspace"}
    for _, _, budget, spend, as_of, revenue, margin, latest_call, call_spend in customers:
        assert budget == (revenue * (100 - margin) / 100).quantize(budget)
        assert spend == call_spend
        assert as_of == latest_call
    crossed = _query(
        built,
        "select scope, scope_id, state from marts.mart_budget_status "
        "where period_start = (select max(period_start) from marts.mart_budget_status) "
        "and state in ('soft_50', 'soft_80')",
    )
    alerts = _query(built, "select scope, scope_id, threshold from audit.budget_alerts")
    assert len(alerts) == len(set(alerts))
    for scope, scope_id, state in crossed:
        assert (scope, scope_id, state) in alerts
    caps = json.loads((built.serving / "gateway_caps.json").read_text())
    table = _query(built, "select scope_id, reason from marts.mart_gateway_caps")
    assert sorted((c["id"], c["reason"]) for c in caps["caps"]) == sorted(table)


def test_a_failing_blocking_check_makes_materialize_exit_non_zero(built, monkeypatch):
    from orchestration.ingest import assets
    from orchestration.ingest.sources.otel_assemble import Assembly
    from orchestration.ingest.usage_events import FileLoad
    from orchestration.ingest.usage_sources import UsageLoad

    def unbalanced(*args, **kwargs):
        return UsageLoad(
            [
                FileLoad(
                    "x.jsonl",
                    "0" * 64,
                    "loaded",
                    "jsonl",
                    records_read=3,
                    records_loaded=1,
                    records_quarantined=1,
                )
            ],
            Assembly(),
        )

    monkeypatch.setattr(assets, "load_usage_sources", unbalanced)
    assert cli.main(["materialize", "--log-level", "ERROR"]) == 1


PLANTED_CAUSE = {
    "unpriced_model": "unpriced models",
    "missing_events": "missing events",
    "price_drift": "price drift",
}


def test_planted_provider_invoice_differences_are_found_with_their_cause(built):
    truth = pq.read_table(built.truth / "provider_costs.parquet").to_pylist()
    planted = {(t["provider"], t["invoice_month"]): t["planted"] for t in truth}
    rows = _query(
        built,
        "select provider, strftime(month, '%Y-%m'), difference_pct, likely_cause, is_within_tolerance "
        "from marts.mart_provider_reconciliation",
    )
    found = {(p, m): (pct, cause, ok) for p, m, pct, cause, ok in rows}
    assert set(found) == set(planted)
    assert {c for c in planted.values() if c} == set(PLANTED_CAUSE)  # each cause is planted
    for key, plant in planted.items():
        pct, cause, ok = found[key]
        if plant:
            assert (cause, ok) == (PLANTED_CAUSE[plant], False), (key, plant, pct)
        else:  # invoice noise, cent rounding and the calls whose records were mangled only
            assert abs(pct) < 3 and cause != "unpriced models", (key, pct, cause)


def test_the_reconciliation_check_warns_with_the_causes(built):
    from dagster import AssetCheckSeverity

    from orchestration.checks.reconciliation import provider_costs_reconcile

    result = provider_costs_reconcile()
    assert not result.passed and result.severity == AssetCheckSeverity.WARN
    assert set(PLANTED_CAUSE.values()) <= set(result.metadata["causes"].value)
    assert result.metadata["tolerance_pct"].value == 1.0


def test_the_benchmark_implementations_agree_with_the_pipeline(built, tmp_path):
    """bench/: the engine-limit statement and the pandas baseline compute, straight from the
    landing files (every format, every planted fault), the same totals as the marts."""
    from bench import engine_limit, pandas_baseline
    from bench import totals as T

    resolutions = T.write_resolutions(tmp_path / T.RESOLUTIONS_FILE)
    pipeline = T.from_warehouse(built.warehouse)
    assert pipeline.calls > 1000 and pipeline.tasks > 1000 and len(pipeline.customer_days) > 20
    T.check_agree(
        pipeline,
        {
            "engine limit": engine_limit.run(built.root, resolutions),
            "pandas": pandas_baseline.run(built.root, resolutions),
        },
    )


DAILY_CAUSES = {
    "bypassed gateway",
    "batch or tier discount",
    "cache accounting",
    "price drift",
    "unpriced model",
}


def test_planted_daily_report_gaps_are_found_with_their_cause(built):
    """The generator's report pages against the daily reconciliation: one mart row per provider,
    day and model of truth/provider_report_gaps.parquet, and the generator's expected cause on
    every row whose quarantined records the warehouse can attribute (a record without its
    provider, model or day cannot be, and its calls then read as a bypass)."""
    truth = {
        (t["provider"], t["day"], t["model"]): t
        for t in pq.read_table(built.truth / "provider_report_gaps.parquet").to_pylist()
    }
    rows = _query(
        built,
        "select provider, usage_date, model, likely_cause, quarantined_tokens "
        "from marts.mart_provider_daily_reconciliation",
    )
    found = {(p, d, m): (cause, q) for p, d, m, cause, q in rows}
    assert set(found) == set(truth)
    attributable = {
        key
        for key, t in truth.items()
        if (t["quarantined_input_tokens"] or 0) + (t["quarantined_output_tokens"] or 0)
        == found[key][1]
    }
    assert DAILY_CAUSES <= {truth[k]["planted"] for k in attributable}  # each cause is checked
    assert len(attributable) >= 0.9 * len(truth)
    wrong = {
        key: (truth[key]["expected_cause"], found[key][0])
        for key in attributable
        if truth[key]["expected_cause"] != found[key][0]
    }
    assert wrong == {}
