"""Task chains followed by pointer jumping give exactly what the recursive walk gave.

``int_attempts_chained_to_tasks`` finds each call's first attempt in ceil(log2(max_chain_depth
+ 1)) rounds of pointer jumping (docs/tasks.md). The oracle is the recursive CTE the model used
before (``tests/fixtures/int_attempts_chained_to_tasks_recursive.sql``, kept as it was): every
row of the model must equal its row, both ways (EXCEPT ALL), on the generated sample and on a
synthetic set of deep chains (around the depth cap and the rounds' reach), cycles, missing and
unpriced parents, task ids in mid-chain and fan-outs. On the synthetic set the first attempts are
also computed here in Python, by walking each chain up.

Uses the shared built sample (its warehouse gives the column types of the synthetic tables).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt.project import dbt_executable
from orchestration.paths import DATA_DIR_ENV, PROJECT_ROOT

MODEL = "int_attempts_chained_to_tasks"
CHECK = "assert_task_chains_within_max_chain_depth"  # tests/dbt/
ORACLE = Path(__file__).parent / "fixtures" / "int_attempts_chained_to_tasks_recursive.sql"
STG = '"warehouse"."staging"."stg_usage__events"'
PRICED = '"warehouse"."intermediate"."int_llm_calls_priced"'
START = dt.datetime(2026, 11, 10, 9, 0, 0)


def _compiled(built, tmp_path: Path, max_chain_depth: int) -> tuple[str, str]:
    """The model's full-refresh SQL and its depth check's, as dbt compiles them with this
    max_chain_depth."""
    target = tmp_path / f"target-{max_chain_depth}"
    result = subprocess.run(
        [dbt_executable(), "compile", "--select", MODEL, CHECK, "--full-refresh", "--quiet",
         "--vars", json.dumps({"max_chain_depth": max_chain_depth}),
         "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT),
         "--target", "duckdb", "--target-path", str(target), "--log-path", str(tmp_path / "logs")],
        env={**os.environ, DATA_DIR_ENV: str(built.root)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    (model,) = target.rglob(f"compiled/**/{MODEL}.sql")
    (check,) = target.rglob(f"compiled/**/{CHECK}.sql")
    sql = model.read_text()
    assert "recursive" not in sql.lower()
    return sql, check.read_text()


def _oracle(max_chain_depth: int) -> str:
    return (
        ORACLE.read_text()
        .replace("{stg_usage__events}", STG)
        .replace("{int_llm_calls_priced}", PRICED)
        .replace("{max_chain_depth}", str(max_chain_depth))
    )


def _differences(con: duckdb.DuckDBPyConnection, left: str, right: str) -> list[tuple]:
    """Rows of one side not matched one for one on the other (EXCEPT ALL, both ways)."""
    return con.execute(
        f"select 'missing', * from ({left} except all {right}) "
        f"union all select 'extra', * from ({right} except all {left}) limit 20"
    ).fetchall()


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    names = [r[0] for r in con.execute(f"describe {relation}").fetchall()]
    return ", ".join(n for n in names if n != "rebuilt_at")


# -- the generated sample -------------------------------------------------------------------------


def test_the_built_sample_is_chained_as_the_recursive_walk_chains_it(built):
    con = duckdb.connect(str(built.root / "warehouse.duckdb"), read_only=True)
    try:
        con.execute("set timezone = 'UTC'")
        con.execute(f"create temp table oracle as {_oracle(500)}")
        model = f'"warehouse"."intermediate"."{MODEL}"'
        columns = _columns(con, "oracle")
        assert (
            _differences(con, f"select {columns} from oracle", f"select {columns} from {model}")
            == []
        )
        chained, tasks = con.execute(
            f"select count(*), count(distinct task_id) from {model} "
            "where is_task_id_derived and event_id <> first_event_id"
        ).fetchone()
        assert chained > 0 and tasks > 0  # the sample does have chains without task ids
    finally:
        con.close()


# -- a synthetic set of hard chains ---------------------------------------------------------------


def _synthetic_calls() -> list[dict]:
    """event_id, task_id, parent_event_id, price_state and tags of every synthetic call."""
    rng = random.Random(17)
    calls: list[dict] = []

    def add(event_id, parent=None, task=None, price_state="current", customer=None):
        calls.append(
            {"event_id": event_id, "task_id": task, "parent_event_id": parent,
             "price_state": price_state, "customer_id": customer}
        )  # fmt: skip

    def chain(name, depth, *, first_parent=None, task=None):
        """A chain of depth + 1 calls, depth steps from its first attempt."""
        add(f"{name}-0", first_parent, task, customer=f"cus_{name}")
        for i in range(1, depth + 1):
            add(
                f"{name}-{i}",
                f"{name}-{i - 1}",
                customer=rng.choice([None, None, f"cus_{name}", "cus_other"]),
            )

    # task-less chains around every power of two and the depth caps tried (6 and 500)
    for depth in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 40, 255, 256, 257,
                  499, 500, 501, 511, 512, 513, 1100):  # fmt: skip
        chain(f"deep{depth}", depth)
    # task ids on every call, a task id only on the first, a task id in mid-chain
    add("tagged-0", task="task-a")
    add("tagged-1", "tagged-0", "task-a")
    chain("first-tagged", 12, task="task-b")
    chain("mid", 9)
    calls[-5]["task_id"] = "task-c"  # mid-5 starts task-c; mid-6 .. mid-9 join it
    # a parent never received; a parent received but priced only under the previous prices
    chain("orphan", 7, first_parent="never-received")
    add("unpriced-parent", price_state="previous")
    chain("after-unpriced", 4, first_parent="unpriced-parent")
    # cycles: a self-loop, two calls, seven calls with a tail, a long tail into a cycle
    add("self", "self")
    add("pair-a", "pair-b")
    add("pair-b", "pair-a")
    for i in range(7):
        add(f"ring-{i}", f"ring-{(i + 1) % 7}")
    chain("ring-tail", 3, first_parent="ring-2")
    chain("long-tail", 600, first_parent="pair-a")
    # fan-out: retries of the same attempt, and a tree under them
    add("fan-0", customer="cus_fan")
    for i in range(1, 30):
        add(f"fan-{i}", f"fan-{rng.randrange(i)}")
    rng.shuffle(calls)  # arrival order must not matter
    return calls


def _expected_first_attempts(calls: list[dict], max_chain_depth: int) -> dict[str, tuple]:
    """Per priced call: (first attempt, task id), walking parent_event_id up in Python."""
    priced = {c["event_id"]: c for c in calls if c["price_state"] == "current"}
    expected = {}
    for event_id in priced:
        node, steps, seen = event_id, 0, {event_id}
        while priced[node]["task_id"] is None and priced[node]["parent_event_id"] in priced:
            node = priced[node]["parent_event_id"]
            steps += 1
            if node in seen or steps > max_chain_depth:
                node = event_id  # circular, or deeper than the cap: its own task
                break
            seen.add(node)
        expected[event_id] = (node, priced[node]["task_id"] or node)
    return expected


def _steps_to_first_attempt(calls: list[dict]) -> dict[str, int | None]:
    """Per priced call: how many parent links lead up to its first attempt (None: circular)."""
    priced = {c["event_id"]: c for c in calls if c["price_state"] == "current"}
    steps: dict[str, int | None] = {}
    for event_id in priced:
        node, seen = event_id, [event_id]
        while priced[node]["task_id"] is None and priced[node]["parent_event_id"] in priced:
            node = priced[node]["parent_event_id"]
            if node in seen:
                steps[event_id] = None
                break
            seen.append(node)
        else:
            steps[event_id] = len(seen) - 1
    return steps


@pytest.fixture(scope="module")
def synthetic_warehouse(built, tmp_path_factory) -> Path:
    """warehouse.duckdb (catalog "warehouse", as dbt compiles names) holding the synthetic calls in
    tables typed as the built sample's staging events and priced calls."""
    path = tmp_path_factory.mktemp("chains") / "warehouse.duckdb"
    calls = _synthetic_calls()
    con = duckdb.connect(str(path))
    try:
        con.execute(f"attach '{built.root / 'warehouse.duckdb'}' as built (read_only)")
        for schema, table in (("staging", "stg_usage__events"),
                              ("intermediate", "int_llm_calls_priced")):  # fmt: skip
            con.execute(f"create schema {schema}")
            con.execute(
                f"create table {schema}.{table} as select * from built.{schema}.{table} limit 0"
            )
        con.execute("detach built")
        rng = random.Random(5)
        events, prices = [], []
        for i, call in enumerate(calls):
            occurred = START + dt.timedelta(seconds=rng.randrange(0, 3 * 86_400))
            events.append(
                (call["event_id"], occurred, occurred.date(), call["customer_id"],
                 call["customer_id"] and "ws_1", call["task_id"], call["parent_event_id"],
                 rng.choice([None, 1, 2]), rng.choice(["chat-primary", "chat-fallback"]),
                 rng.choice(["success", "error"]))
            )  # fmt: skip
            prices.append((call["event_id"], call["price_state"], (i % 97) / 1000))
        con.executemany(
            "insert into staging.stg_usage__events (event_id, occurred_at, event_date, "
            "customer_id, workspace_id, feature, task_id, parent_event_id, attempt, provider, "
            "model, route, status, is_incomplete, prompt_tokens, completion_tokens) "
            "values (?, ?, ?, ?, ?, 'chat', ?, ?, ?, 'openai', 'gpt-4o', ?, ?, false, 100, 10)",
            events,
        )
        con.executemany(
            "insert into intermediate.int_llm_calls_priced (event_id, price_state, "
            "unpriced_reason, cost_usd) values (?, ?, null, ?)",
            prices,
        )
    finally:
        con.close()
    return path


@pytest.mark.parametrize("max_chain_depth", [500, 6])
def test_synthetic_chains_are_chained_as_the_recursive_walk_chains_them(
    built, synthetic_warehouse, tmp_path, max_chain_depth
):
    model_sql, check_sql = _compiled(built, tmp_path, max_chain_depth)
    con = duckdb.connect(str(synthetic_warehouse))
    try:
        con.execute("set timezone = 'UTC'")
        con.execute(f"create temp table oracle as {_oracle(max_chain_depth)}")
        con.execute(f"create or replace table intermediate.{MODEL} as {model_sql}")
        model = f"intermediate.{MODEL}"
        columns = _columns(con, "oracle")
        assert (
            _differences(con, f"select {columns} from oracle", f"select {columns} from {model}")
            == []
        )

        got = {
            event_id: (first, task)
            for event_id, first, task in con.execute(
                f"select event_id, first_event_id, task_id from {model}"
            ).fetchall()
        }
        flagged = {row[0] for row in con.execute(check_sql).fetchall()}
    finally:
        con.close()
    calls = _synthetic_calls()
    expected = _expected_first_attempts(calls, max_chain_depth)
    assert got == expected
    # the set does reach the cap: a chain one step too deep is split there
    too_deep = f"deep{max_chain_depth + 1}"
    assert expected[f"{too_deep}-{max_chain_depth}"][0] == f"{too_deep}-0"
    assert expected[f"{too_deep}-{max_chain_depth + 1}"][0] == f"{too_deep}-{max_chain_depth + 1}"

    # and the depth check fails the build on exactly the first call cut off each too-deep chain
    # (not on circular chains, nor on the chains cut at a cycle)
    steps = _steps_to_first_attempt(calls)
    assert flagged == {e for e, n in steps.items() if n == max_chain_depth + 1}
    assert f"{too_deep}-{max_chain_depth + 1}" in flagged
