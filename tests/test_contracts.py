"""Every model in models/marts/ has an enforced dbt contract with a portable data_type on every
column (issue 7: a mart's schema is an interface BI tools and the serving copy rely on; dbt then
fails a build whose SQL drifts from it, on DuckDB and on Spark alike)."""

from __future__ import annotations

import json
import re

import pytest

from orchestration.dbt.project import parse_project

# The types both engines spell and produce the same way (house conventions).
PORTABLE_TYPE = re.compile(
    r"^(string|bigint|double|date|timestamp|boolean|decimal\(\s*\d+\s*,\s*\d+\s*\))$"
)


@pytest.fixture(scope="module")
def marts() -> dict[str, dict]:
    manifest = json.loads(parse_project().read_text())
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["original_file_path"].replace("\\", "/").startswith("models/marts/")
    }


def test_the_marts_are_found(marts):
    # guards the tests below against passing on an empty selection
    assert {"fct_llm_calls", "fct_tasks", "mart_customer_monthly_margin"} <= marts.keys()


def test_every_mart_enforces_its_contract(marts):
    uncontracted = sorted(
        name for name, node in marts.items() if not node["config"]["contract"]["enforced"]
    )
    assert uncontracted == [], f"marts without contract: enforced: true: {uncontracted}"


def test_every_mart_column_has_a_portable_data_type(marts):
    problems = []
    for name, node in sorted(marts.items()):
        if not node["columns"]:
            problems.append(f"{name}: no columns declared")
        for column in node["columns"].values():
            data_type = (column.get("data_type") or "").strip().lower()
            if not PORTABLE_TYPE.match(data_type):
                problems.append(f"{name}.{column['name']}: data_type {data_type!r}")
    assert problems == [], "\n".join(problems)


def test_contracted_incremental_marts_can_evolve(marts):
    # dbt refuses a contracted incremental model whose on_schema_change is ignore/sync_all_columns
    problems = [
        f"{name}: on_schema_change {node['config'].get('on_schema_change')!r}"
        for name, node in sorted(marts.items())
        if node["config"]["materialized"] == "incremental"
        and node["config"].get("on_schema_change") not in ("append_new_columns", "fail")
    ]
    assert problems == [], "\n".join(problems)
