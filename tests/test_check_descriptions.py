"""The sentence each dbt data test shows as its asset check's description, and the checks on the
alert record and the serving copy, on small hand-made inputs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import duckdb

from orchestration.dbt.check_descriptions import check_description


def generic(name: str, namespace: str | None = None, where: str | None = None, **kwargs) -> dict:
    return {
        "name": f"{name}_some_model",
        "package_name": "llm_margin",
        "description": "",
        "meta": {},
        "config": {"meta": {}, "where": where},
        "test_metadata": {"name": name, "namespace": namespace, "kwargs": kwargs},
    }


MODEL = "{{ get_where_subquery(ref('some_model')) }}"


def test_built_in_generic_tests_read_as_sentences_about_their_columns():
    assert (
        check_description(generic("not_null", column_name="cost_usd", model=MODEL), {})
        == "`cost_usd` is never null."
    )
    assert (
        check_description(generic("unique", column_name="event_id", model=MODEL), {})
        == "`event_id` is unique: no two rows share a value."
    )
    assert check_description(
        generic("accepted_values", column_name="status", values=["paid", "void"], model=MODEL), {}
    ) == ("Every non-null `status` is one of: `paid`, `void`.")
    assert check_description(
        generic("relationships", column_name="task_id", to="ref('fct_tasks')", field="task_id"), {}
    ) == ("Every non-null `task_id` exists in fct_tasks.")
    assert check_description(
        generic(
            "relationships", column_name="x", to="source('lake', 'usage_events')", field="event_id"
        ),
        {},
    ) == ("Every non-null `x` exists in lake.usage_events as `event_id`.")


def test_the_projects_generic_tests_read_as_sentences():
    assert check_description(
        generic("unique_combination_of_columns", combination_of_columns=["customer_id", "month"]),
        {},
    ) == ("One row per `customer_id` and `month`: no combination repeats.")
    assert check_description(generic("expression_is_true", expression="a <= b"), {}) == (
        "`a <= b` holds on every row (null counts as false)."
    )


def test_a_where_config_is_part_of_the_sentence():
    test = generic("not_null", column_name="plan_id", where="plan_id != 'x'")
    assert check_description(test, {}) == (
        "`plan_id` is never null. Checked on rows where `plan_id != 'x'`."
    )


def test_a_written_description_wins_over_the_generated_sentence():
    test = generic("expression_is_true", expression="spend_usd >= 0")
    test["description"] = "  No spend\n  is negative. "
    assert check_description(test, {}) == "No spend is negative."
    test = generic("not_null", column_name="x")
    test["config"]["meta"] = {"description": "Set in meta."}
    assert check_description(test, {}) == "Set in meta."


def test_an_unknown_generic_test_is_described_by_its_macro_or_not_at_all():
    test = generic("is_positive", namespace="other_pkg", column_name="amount", model=MODEL)
    assert check_description(test, {"macros": {}}) is None
    manifest = {
        "macros": {
            "macro.other_pkg.test_is_positive": {"description": "Fails for rows at or below zero."}
        }
    }
    assert check_description(test, manifest) == (
        "Fails for rows at or below zero. (column_name = `amount`)"
    )
    # a package's test named like a built-in is not assumed to mean the same
    assert (
        check_description(generic("not_null", namespace="other_pkg", column_name="x"), {}) is None
    )


def test_a_singular_test_without_a_description_has_none():
    singular = {"name": "assert_x", "package_name": "llm_margin", "description": "", "meta": {}}
    assert check_description(singular, {}) is None


def _record(con, threshold: str, severity: str, spend: str, budget: str | None, scope="customer"):
    con.execute(
        "insert into audit.budget_alerts values "
        "(?, ?, 'c1', 'c1', ?, ?, ?, 'month', ?, ?, ?, null, null, null, ?, 'outbox', 'm', '{}')",
        [
            f"{threshold}-{spend}",
            scope,
            threshold,
            severity,
            date(2026, 11, 1),
            datetime(2026, 11, 20),
            Decimal(spend),
            None if budget is None else Decimal(budget),
            datetime(2026, 11, 20),
        ],
    )


def test_the_alert_check_finds_alerts_that_disagree_with_their_threshold():
    from orchestration.alerts.store import ensure_table
    from orchestration.checks.alerts import inconsistent_alerts_sql

    with duckdb.connect() as con:
        ensure_table(con)
        _record(con, "soft_50", "soft", "50.00", "100.00")  # exactly half: fires
        _record(con, "soft_80", "soft", "79.99", "100.00")  # below 80%: wrong
        _record(con, "hard_100", "hard", "100.00", "100.00")
        _record(con, "projected_breach", "early", "120.00", "100.00")  # already over: wrong
        _record(con, "hard_cap", "soft", "150.00", "100.00")  # wrong severity
        _record(con, "abuse_spend_spike", "abuse", "3.00", None, scope="workspace")
        _record(con, "abuse_runaway_loop", "abuse", "3.00", None, scope="customer")  # wrong scope
        wrong = {row[3] for row in con.execute(inconsistent_alerts_sql()).fetchall()}
    assert wrong == {"soft_80", "projected_breach", "hard_cap", "abuse_runaway_loop"}


def test_the_serving_check_names_each_relation_that_differs():
    from orchestration.checks.serving import differences

    warehouse = {"marts.a": 3, "marts.b": 2, "audit.c": 1}
    serving = {"marts.a": 3, "marts.b": 1, "audit.d": 0}
    assert differences(warehouse, serving) == [
        "audit.c: missing from the serving copy",
        "audit.d: not in the warehouse",
        "marts.b: 1 rows served, 2 in the warehouse",
    ]
    assert differences(warehouse, dict(warehouse)) == []
