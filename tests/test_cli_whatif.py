"""``llm-margin whatif`` end to end on the shared generated data set (conftest.built), through
the real command, dbt and the serving copy.

The tests marked ``whatif_sql`` need the what-if dbt models and marts (models/**/int_whatif_*,
marts.mart_whatif_feature_route, marts.mart_whatif_plan_margin, the dbt source
scenarios.scenario_rules) that the whatif-sql branch of issue 16 adds: they run in `make test`
once both branches are merged. The test without the mark needs only this branch.

This module adds to the shared build (it loads scenarios and builds the what-if models) and
leaves ``$LLM_MARGIN_SCENARIOS_DIR`` pointing at its own folder. Expected costs are computed
here with SQL over ``marts.fct_llm_calls`` in the warehouse, not read from the marts under test."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration import cli
from orchestration.paths import PROJECT_ROOT, SCENARIOS_DIR_ENV

# The shared data set runs from Wednesday 2026-11-11 to Sunday 2026-11-22 (conftest.built).
PERIOD = "{start: 2026-11-11, end: 2026-11-23}"
EXAMPLE = "chat-primary-on-gpt-4-1-mini"
whatif_sql = pytest.mark.whatif_sql


@pytest.fixture
def scenarios(built, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    shutil.copy(PROJECT_ROOT / "scenarios" / f"{EXAMPLE}.yaml", folder)
    monkeypatch.setenv(SCENARIOS_DIR_ENV, str(folder))
    return folder


def warehouse_rows(built, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_a_feature_the_warehouse_never_saw_is_refused_with_the_known_ones(built, scenarios, capsys):
    (scenarios / "typo.yaml").write_text(
        "name: typo\nrules:\n  - feature: chat_assistent\n    provider: openai\n"
        "    model: gpt-4.1-mini\n"
    )
    features = sorted(
        f for (f,) in warehouse_rows(built, "select distinct feature from marts.fct_llm_calls") if f
    )
    assert cli.main(["whatif", "typo"]) == 2
    printed = capsys.readouterr().err
    assert (
        "typo.yaml:3: rule 1: feature 'chat_assistent' does not exist in the observed " in printed
    )
    assert ", ".join(features[:3]) in printed


@whatif_sql
def test_a_scenario_identical_to_observed_traffic_reproduces_the_actual_cost(
    built, scenarios, capsys
):
    (scenarios / "identity.yaml").write_text(
        f"name: identity\nperiod: {PERIOD}\nprices: call_time\nrules:\n"
        "  - feature: chat_assistant\n"
    )
    assert cli.main(["whatif", "identity"]) == 0
    printed = capsys.readouterr().out
    assert "What if: identity" in printed
    assert "every call priced at the prices in force at its own time" in printed
    expected = {
        (feature, route): (calls, cost)
        for feature, route, calls, cost in warehouse_rows(
            built,
            "select feature, route, count(*), sum(cost_usd) from marts.fct_llm_calls "
            "where event_date >= date '2026-11-11' and event_date < date '2026-11-23' "
            "group by all",
        )
    }
    got = warehouse_rows(
        built,
        "select feature, route, calls, actual_cost_usd, scenario_cost_usd "
        "from marts.mart_whatif_feature_route where scenario_id = 'identity'",
    )
    assert {(f, r) for f, r, *_ in got} == set(expected)
    for feature, route, calls, actual, scenario in got:
        expected_calls, expected_cost = expected[(feature, route)]
        assert calls == expected_calls
        if expected_cost is None:  # every call unpriced: no cost either way, never $0
            assert actual is None and scenario is None
            continue
        assert abs(float(actual) - float(expected_cost)) < 1e-9
        assert abs(float(scenario) - float(actual)) < 1e-9, (feature, route)


@whatif_sql
def test_the_example_scenario_prints_the_comparison_writes_a_page_and_feeds_the_report(
    built, scenarios, capsys
):
    assert cli.main(["whatif", EXAMPLE]) == 0
    printed = capsys.readouterr().out
    assert f"What if: {EXAMPLE}" in printed
    assert "Cost by feature and route" in printed and "Gross margin by plan" in printed
    assert "priced as openai gpt-4.1-mini" in printed  # the rule's assumptions
    page = built.reports / f"whatif-{EXAMPLE}.html"
    assert f"HTML page: {page}" in printed.replace("\n", "")
    html = page.read_text()
    assert '<section id="whatif-feature-route">' in html and "<script" not in html
    [(calls, actual, scenario, unpriced)] = warehouse_rows(
        built,
        "select calls, actual_cost_usd, scenario_cost_usd, scenario_unpriced_calls "
        "from marts.mart_whatif_feature_route where scenario_id = ? "
        "and feature = 'chat_assistant' and route = 'chat-primary'",
        [EXAMPLE],
    )
    # gpt-4.1-mini costs less than gpt-4o for every token kind (catalog: input $0.40 vs $2.50,
    # cached input $0.10 vs $1.25, output $1.60 vs $10 per million)
    assert calls > 0 and unpriced == 0 and scenario < actual
    assert cli.main(["report"]) == 0
    report = capsys.readouterr().out
    assert "Cheapest equivalent" in report and EXAMPLE in report
