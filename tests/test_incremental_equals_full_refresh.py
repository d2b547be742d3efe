"""Incremental builds equal a full refresh.

One small generated data set lands in three batches, each followed by an incremental build of
every model (`dbt run`, no tests: the other tests run them). Planted on top of the generator's own
re-deliveries and late records:

- batch 1: a first attempt at 23:59:50 (no task_id), an orphan retry whose parent is missing, a
  call that will be re-sent, a stream record at 23:59:59 whose final version moves to the next day;
- batch 2: the retry of the 23:59:50 attempt after midnight (a chain crossing the day boundary),
  the re-sent call with new token counts, the moved stream's final record;
- batch 3: the orphan's parent, two days late (its retry's task merges into the parent's), and a
  negotiated price sheet that restates calls already priced.

What-if scenarios ride along (the per-call what-if models are kept by scenario and day): the
shipped scenario, whose default period (every day held: no full month is) grows with each batch,
and a second one on an explicit period priced at call time, whose rule changes after batch 2 with
nothing else (every day of its period must be rebuilt); batch 3 removes the first, and changes
the second's rule again and moves its period, leaving days behind that must be deleted.

After batches 2 and 3 the lake is copied to a second data directory and built from scratch; every
fact and mart table, and the what-if models, must hold the same rows (all columns but the
`rebuilt_at` bookkeeping; money exact, compared as decimals by DuckDB).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from held_back_days import generate_holding_back

from orchestration.dbt.project import dbt_executable
from orchestration.paths import (
    DATA_DIR_ENV,
    DEFAULT_SCENARIOS_DIR,
    PROJECT_ROOT,
    SCENARIOS_DIR_ENV,
    DataPaths,
)

PRICE_SHEET = (
    "provider,model,component,usd_per_million_tokens,valid_from,valid_to\n"
    "openai,gpt-4.1,input,1.50,2026-11-01,\n"
)


def _record(event_id: str, occurred_at: str, **fields) -> dict:
    return {
        "event_id": event_id,
        "emitted_at": occurred_at,
        "occurred_at": occurred_at,
        "customer_id": "cus_planted",
        "workspace_id": "ws_planted",
        "feature": "support_agent",
        "provider": "openai",
        "model": "gpt-4.1",
        "route": "agent-primary",
        "prompt_tokens": 1_000,
        "completion_tokens": 100,
        "status": "success",
        **fields,
    }


UNTAGGED = {"customer_id": None, "workspace_id": None, "feature": None}

BATCH_1 = [
    _record("inc-chain-1", "2026-11-19T23:59:50Z"),
    _record("inc-orphan-retry", "2026-11-19T10:00:30Z", parent_event_id="inc-late-parent", **UNTAGGED),
    _record("inc-resent", "2026-11-19T08:00:00Z", task_id="inc-task-resent"),
    _record("inc-moving", "2026-11-19T23:59:59Z", task_id="inc-task-moving", status="in_progress",
            completion_tokens=None),
]  # fmt: skip
BATCH_2 = [
    _record("inc-chain-2", "2026-11-20T00:00:30Z", parent_event_id="inc-chain-1",
            route="agent-fallback", fallback_from_route="agent-primary", **UNTAGGED),
    _record("inc-resent", "2026-11-19T08:00:00Z", task_id="inc-task-resent",
            emitted_at="2026-11-21T09:00:00Z", completion_tokens=4_000),
    _record("inc-moving", "2026-11-20T00:00:02Z", task_id="inc-task-moving",
            emitted_at="2026-11-20T00:00:09Z", completion_tokens=300),
]  # fmt: skip
BATCH_3 = [_record("inc-late-parent", "2026-11-19T10:00:00Z", status="error")]

SHIPPED_SCENARIO = "chat-primary-on-gpt-4-1-mini.yaml"
SQL_SCENARIO = """\
name: sql-on-mini
period: {{start: {start}, end: {end}}}
prices: call_time
rules:
  - feature: sql_copilot
    provider: openai
    model: gpt-4.1-mini
    token_ratio: {ratio}
"""
# the what-if models, compared beside the marts
WHATIF_TABLES = ("int_whatif_scenarios", "int_whatif_calls", "int_whatif_calls_priced")


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _dbt_run(paths: DataPaths, work: Path, *extra: str) -> None:
    result = subprocess.run(
        # models and seeds (the configured budgets), without the tests: `dbt build` minus tests
        [dbt_executable(), "build", "--resource-type", "model", "--resource-type", "seed",
         "--quiet", "--project-dir", str(PROJECT_ROOT),
         "--profiles-dir", str(PROJECT_ROOT), "--target", "duckdb",
         "--target-path", str(work / "dbt_target"), "--log-path", str(work / "dbt_logs"), *extra],
        env={**os.environ, DATA_DIR_ENV: str(paths.root)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def _keys(asset) -> list:
    return list(asset.keys) if hasattr(asset, "keys") else [asset.key]


def _ingest(paths: DataPaths, monkeypatch) -> None:
    """Load the landing files not loaded yet (usage events, billing, pricing) with the Dagster
    ingestion assets, as `llm-margin materialize` does before dbt."""
    from dagster import DagsterInstance, materialize

    from orchestration.definitions import defs

    monkeypatch.setenv(DATA_DIR_ENV, str(paths.root))
    # the landing specs and the loaders into the lake; not dbt, the serving copy or the alerts
    ingestion = [
        a for a in defs.assets if all(key.path[0] in ("landing", "lake") for key in _keys(a))
    ]
    with DagsterInstance.ephemeral() as instance:
        assert materialize(ingestion, instance=instance, resources=defs.resources).success


def _query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _full_refresh_copy(paths: DataPaths, work: Path, name: str) -> DataPaths:
    """The same lake in a second data directory, every model built from scratch."""
    copy = DataPaths(work / name / "data")
    shutil.copytree(paths.root, copy.root, ignore=shutil.ignore_patterns("warehouse.duckdb*"))
    _dbt_run(copy, work / name, "--full-refresh")
    return copy


def _differences(incremental: Path, full: Path) -> dict[str, tuple[int, int, int]]:
    """Per fact and mart table and what-if model: (rows, rows only in the incremental build,
    rows only in the full one), compared on every column but rebuilt_at."""
    found: dict[str, tuple[int, int, int]] = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{incremental}' as inc (read_only)")
        con.execute(f"attach '{full}' as fresh (read_only)")
        whatif = ", ".join(f"'{t}'" for t in WHATIF_TABLES)
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'fresh' "
            f"and (schema_name = 'marts' or table_name in ({whatif})) order by 2"
        ).fetchall()
        for schema, table in tables:
            columns = ", ".join(
                f'"{c}"'
                for (c,) in con.execute(
                    "select column_name from duckdb_columns() where database_name = 'fresh' "
                    f"and schema_name = '{schema}' and table_name = '{table}' "
                    "and column_name <> 'rebuilt_at' order by column_index"
                ).fetchall()
            )
            left = f"select {columns} from inc.{schema}.{table}"
            right = f"select {columns} from fresh.{schema}.{table}"
            rows = con.execute(f"select count(*) from fresh.{schema}.{table}").fetchone()[0]
            only_inc = con.execute(f"select count(*) from ({left} except all {right})").fetchone()
            only_full = con.execute(f"select count(*) from ({right} except all {left})").fetchone()
            found[table] = (rows, only_inc[0], only_full[0])
    return found


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    """Lands and builds the three batches; yields a function comparing after each one."""
    work = tmp_path_factory.mktemp("incremental")
    paths = DataPaths(work / "data")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv(DATA_DIR_ENV, str(paths.root))
    scenarios = work / "scenarios"
    scenarios.mkdir()
    shutil.copy(DEFAULT_SCENARIOS_DIR / SHIPPED_SCENARIO, scenarios / SHIPPED_SCENARIO)
    (scenarios / "sql-on-mini.yaml").write_text(
        SQL_SCENARIO.format(start="2026-11-18", end="2026-11-21", ratio=1)
    )
    monkeypatch.setenv(SCENARIOS_DIR_ENV, str(scenarios))
    try:
        landing, held, _ = generate_holding_back(paths, work, 2)
        _write_jsonl(landing / "planted-1.jsonl", BATCH_1)
        yield paths, work, landing, held, scenarios, monkeypatch
    finally:
        monkeypatch.undo()


def test_incremental_builds_equal_a_full_refresh_after_late_resent_and_repriced_batches(batches):
    paths, work, landing, held, scenarios, monkeypatch = batches

    _ingest(paths, monkeypatch)
    _dbt_run(paths, work)
    first_build = _query(paths.warehouse, "select max(rebuilt_at) from marts.fct_llm_calls")[0][0]

    # batch 2: the third day, the chain's retry after midnight, the re-sent and the moved calls
    held_files = sorted(held.iterdir())
    shutil.move(held_files[0], landing / held_files[0].name)
    _write_jsonl(landing / "planted-2.jsonl", BATCH_2)
    _ingest(paths, monkeypatch)
    _dbt_run(paths, work)

    # it was incremental: the first day (four days before the new one) was not rewritten
    kept = _query(
        paths.warehouse,
        "select min(event_date), count(*) from marts.fct_llm_calls "
        f"where rebuilt_at = timestamp '{first_build}'",
    )[0]
    assert (
        kept[1] > 0
        and kept[0]
        == _query(paths.warehouse, "select min(event_date) from marts.fct_llm_calls")[0][0]
    )
    chain = _query(
        paths.warehouse,
        "select event_id, task_id, attempt_number, attempt_kind, customer_id, task_date "
        "from intermediate.int_attempts_chained_to_tasks "
        "where event_id in ('inc-chain-1', 'inc-chain-2') order by event_id",
    )
    assert [r[1:] for r in chain] == [
        ("inc-chain-1", 1, "initial", "cus_planted", chain[0][5]),
        ("inc-chain-1", 2, "fallback", "cus_planted", chain[0][5]),
    ]
    assert str(chain[0][5]) == "2026-11-19"
    assert _query(
        paths.warehouse,
        "select completion_tokens, event_date::varchar from marts.fct_llm_calls "
        "where event_id in ('inc-resent', 'inc-moving') order by event_id",
    ) == [(300, "2026-11-20"), (4_000, "2026-11-19")]
    # nor were the what-if rows of that first day, of either scenario
    first_day = _query(
        paths.warehouse,
        "select scenario_id, count(*) from intermediate.int_whatif_calls_priced "
        f"where event_date = date '{kept[0]}' and rebuilt_at = timestamp '{first_build}' "
        "group by scenario_id order by scenario_id",
    )
    assert [scenario for scenario, rows in first_day if rows > 0] == [
        "chat-primary-on-gpt-4-1-mini",
        "sql-on-mini",
    ]
    second = _full_refresh_copy(paths, work, "full-after-batch-2")
    after_batch_2 = _differences(paths.warehouse, second.warehouse)
    assert {"fct_llm_calls", "fct_tasks", "mart_customer_unit_economics"} <= set(after_batch_2)
    assert {t: d for t, d in after_batch_2.items() if d[1] or d[2]} == {}

    # a scenario's rule changes and nothing else: every day of its period is rebuilt with it,
    # including the first day, whose calls did not change
    (scenarios / "sql-on-mini.yaml").write_text(
        SQL_SCENARIO.format(start="2026-11-18", end="2026-11-21", ratio=1.2)
    )
    _ingest(paths, monkeypatch)
    _dbt_run(paths, work)
    assert _query(
        paths.warehouse,
        "select event_date::varchar, max(token_ratio) from intermediate.int_whatif_calls_priced "
        "where scenario_id = 'sql-on-mini' and rule_index is not null group by 1 order by 1",
    ) == [("2026-11-18", 1.2), ("2026-11-19", 1.2), ("2026-11-20", 1.2)]

    # batch 3: the last day, the orphan's late parent, a price sheet restating November
    shutil.move(held_files[1], landing / held_files[1].name)
    _write_jsonl(landing / "planted-3.jsonl", BATCH_3)
    # one scenario removed; the other's rule changed and its period moved a day on
    (scenarios / SHIPPED_SCENARIO).unlink()
    (scenarios / "sql-on-mini.yaml").write_text(
        SQL_SCENARIO.format(start="2026-11-19", end="2026-11-23", ratio=1.5)
    )
    (paths.landing_for("pricing") / "negotiated-2026-11.csv").write_text(PRICE_SHEET)
    costs_before = dict(
        _query(paths.warehouse, "select event_id, cost_usd from marts.fct_llm_calls")
    )
    _ingest(paths, monkeypatch)
    _dbt_run(paths, work)

    merged = _query(
        paths.warehouse,
        "select event_id, task_id, attempt_number from intermediate.int_attempts_chained_to_tasks "
        "where event_id in ('inc-late-parent', 'inc-orphan-retry') order by event_id",
    )
    assert merged == [
        ("inc-late-parent", "inc-late-parent", 1),
        ("inc-orphan-retry", "inc-late-parent", 2),
    ]
    assert _query(
        paths.warehouse, "select count(*) from marts.fct_tasks where task_id = 'inc-orphan-retry'"
    ) == [(0,)]
    repriced = _query(
        paths.warehouse,
        "select count(*) from marts.fct_llm_calls where model = 'gpt-4.1' and is_priced "
        "and event_date < date '2026-11-20'",
    )[0][0]
    costs_after = dict(
        _query(paths.warehouse, "select event_id, cost_usd from marts.fct_llm_calls")
    )
    changed = [e for e, c in costs_before.items() if costs_after.get(e) != c]
    assert repriced > 0 and len(changed) >= repriced  # the old days were repriced too
    assert _query(paths.warehouse, "select count(*) from marts.mart_price_restatements")[0][0] > 0
    third = _full_refresh_copy(paths, work, "full-after-batch-3")
    after_batch_3 = _differences(paths.warehouse, third.warehouse)
    assert {t: d for t, d in after_batch_3.items() if d[1] or d[2]} == {}
    assert all(rows > 0 for t, (rows, _, _) in after_batch_3.items() if t.startswith("fct_"))
    assert all(after_batch_3[t][0] > 0 for t in WHATIF_TABLES)
    assert _query(
        paths.warehouse,
        "select scenario_id, min(event_date)::varchar, max(event_date)::varchar, "
        "max(token_ratio) from intermediate.int_whatif_calls_priced group by 1",
    ) == [("sql-on-mini", "2026-11-19", "2026-11-22", 1.5)]


def test_a_column_added_to_an_incremental_fact_is_filled_on_every_row_by_the_next_run(batches):
    """A warehouse built before fct_llm_calls carried versions_received (the column dropped
    here): the next incremental run rebuilds the fact whole, once, so old days get the column
    too instead of nulls, and the run after it is incremental again."""
    paths, work, _, _, _, monkeypatch = batches
    if not paths.warehouse.exists():  # run alone, without the test above
        _ingest(paths, monkeypatch)
        _dbt_run(paths, work)
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("alter table marts.fct_llm_calls drop column versions_received")
    before = _query(paths.warehouse, "select max(rebuilt_at) from marts.fct_llm_calls")[0][0]

    _dbt_run(paths, work, "--select", "fct_llm_calls")
    filled = _query(
        paths.warehouse,
        "select count(*), count(calls.versions_received), "
        "count(*) filter (where calls.versions_received = events.versions_received), "
        "count(*) filter (where calls.rebuilt_at > timestamp '" + str(before) + "') "
        "from marts.fct_llm_calls as calls "
        "inner join staging.stg_usage__events as events on calls.event_id = events.event_id",
    )[0]
    calls = _query(paths.warehouse, "select count(*) from marts.fct_llm_calls")[0][0]
    assert calls > 0 and filled == (calls, calls, calls, calls)

    stamps = _query(paths.warehouse, "select max(rebuilt_at) from marts.fct_llm_calls")[0][0]
    _dbt_run(paths, work, "--select", "fct_llm_calls")
    assert _query(
        paths.warehouse,
        "select count(distinct rebuilt_at), max(rebuilt_at) from marts.fct_llm_calls",
    ) == [(1, stamps)]
