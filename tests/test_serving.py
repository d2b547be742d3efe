"""The serving copy: what it holds, the atomic swap, and what a failed publish leaves behind.

These tests build a tiny warehouse by hand (no dbt); the held reader across a full
``llm-margin materialize`` is in tests/test_report.py, on generated data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from conftest import HeldReader

from orchestration.serving import publish_serving_copy
from orchestration.serving.publish import serving_file


def make_warehouse(path: Path, amounts: list[int]) -> None:
    with duckdb.connect(str(path)) as con:
        for schema in ("staging", "marts", "audit"):
            con.execute(f"create schema if not exists {schema}")
        con.execute("create or replace table staging.events as select range as id from range(5)")
        con.execute("create or replace table marts.fct_costs (id bigint, cost_usd decimal(24, 12))")
        con.execute(
            "insert into marts.fct_costs select i, a from (select unnest(?) as a, "
            "generate_subscripts(?, 1) as i)",
            [amounts, amounts],
        )
        con.execute(
            "create or replace view marts.mart_total as "
            "select count(*) as items, sum(cost_usd) as cost_usd from marts.fct_costs"
        )
        con.execute(
            "create or replace view audit.file_loads as select 'a.jsonl' as source_file, 3 as rows"
        )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_copies_every_marts_and_audit_relation_as_a_table(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse, [1, 2, 3])
    copy = publish_serving_copy(warehouse, tmp_path / "serving")

    assert copy.path == tmp_path / "serving" / "llm_margin.duckdb"
    assert copy.rows == {"audit.file_loads": 1, "marts.fct_costs": 3, "marts.mart_total": 1}
    with duckdb.connect(str(copy.path), read_only=True) as con:
        kinds = con.execute(
            "select table_schema || '.' || table_name, table_type from information_schema.tables "
            "where table_schema <> '_serving' order by 1"
        ).fetchall()
        bookkeeping = con.execute(
            "select table_name from information_schema.tables where table_schema = '_serving' "
            "order by 1"
        ).fetchall()
        total = con.execute("select items, cost_usd from marts.mart_total").fetchone()
    # Views become tables (a view would point back into the warehouse); staging is not served.
    assert kinds == [
        ("audit.file_loads", "BASE TABLE"),
        ("marts.fct_costs", "BASE TABLE"),
        ("marts.mart_total", "BASE TABLE"),
    ]
    assert total == (3, 6)
    # Besides them, only what the next publish needs to know what changed.
    assert bookkeeping == [("publish",), ("table_fingerprints",)]
    # Only the serving file is left: no temporary file, no WAL; and nobody writes to it in place.
    assert sorted(p.name for p in copy.path.parent.iterdir()) == ["llm_margin.duckdb"]
    assert copy.path.stat().st_mode & 0o222 == 0


def test_a_reader_holding_the_old_file_keeps_its_data_and_does_not_block_the_swap(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse, [1, 2, 3])
    old = publish_serving_copy(warehouse, tmp_path / "serving").path
    reader = HeldReader(old)
    try:
        assert (
            reader.ask("select items, cost_usd from marts.mart_total")
            == "[(3, Decimal('6.000000000000'))]"
        )
        make_warehouse(warehouse, [10, 20, 30, 40])
        # Returns: nothing waits for the reader. It starts from a copy of the held file and
        # replaces the two changed tables; the held file itself is not touched.
        second = publish_serving_copy(warehouse, tmp_path / "serving")
        assert second.full_copy_reason is None
        assert (second.copied, second.kept) == (
            ["marts.fct_costs", "marts.mart_total"],
            ["audit.file_loads"],
        )
        # The held connection still answers, with the old, consistent data (both tables agree).
        assert (
            reader.ask(
                "select (select count(*) from marts.fct_costs), (select items from marts.mart_total)"
            )
            == "[(3, 3)]"
        )
        with duckdb.connect(str(old), read_only=True) as con:  # a new connection: new data
            assert con.execute("select items, cost_usd from marts.mart_total").fetchone() == (
                4,
                100,
            )
    finally:
        reader.close()


def test_a_failed_publish_leaves_the_previous_file_intact(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse, [1, 2, 3])
    serving = tmp_path / "serving"
    published = publish_serving_copy(warehouse, serving).path
    before = _sha(published)

    # A relation that fails half-way through the copy: a view whose table has gone.
    make_warehouse(warehouse, [7, 8])
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table marts.gone as select 1 as x")
        con.execute("create view marts.zz_broken as select * from marts.gone")
        con.execute("drop table marts.gone")
    with pytest.raises(duckdb.Error):
        publish_serving_copy(warehouse, serving)

    assert _sha(published) == before
    assert sorted(p.name for p in serving.iterdir()) == ["llm_margin.duckdb"]
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select items from marts.mart_total").fetchone() == (3,)


def test_a_stale_wal_beside_the_serving_file_is_removed_before_the_swap(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse, [1, 2, 3])
    serving = tmp_path / "serving"
    serving.mkdir()
    stale = serving / "llm_margin.duckdb.wal"
    stale.write_bytes(b"left by a writer that crashed on an older file")

    path = publish_serving_copy(warehouse, serving).path
    assert not stale.exists()
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select items from marts.mart_total").fetchone() == (3,)


def test_publishing_without_a_warehouse_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="build the warehouse first"):
        publish_serving_copy(tmp_path / "warehouse.duckdb", tmp_path / "serving")
    assert not serving_file(tmp_path / "serving").exists()


def test_the_serving_asset_runs_after_every_mart_and_audit_model_in_the_writer_pool(data_dir):
    import json

    from dagster import AssetKey

    from orchestration.dbt.project import llm_margin_project
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    serving = graph.get(AssetKey(["serving", "llm_margin"]))
    # Every dbt model of the marts and audit schemas; Python assets that write audit tables on
    # their own schedule (budget alerts) do not hold the publish back.
    manifest = json.loads(llm_margin_project.manifest_path.read_text())
    dbt_models = {
        AssetKey([node["schema"], node["name"]])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["schema"] in ("marts", "audit")
        and node["config"]["materialized"] != "ephemeral"
    }
    assert AssetKey(["marts", "fct_llm_calls"]) in dbt_models
    assert AssetKey(["audit", "usage_event_file_loads"]) in dbt_models
    assert set(serving.parent_keys) == dbt_models
    assert serving.pools == {"warehouse_writer"}
    # The PostgreSQL target is published from the serving copy, in the same group; it reads
    # only that file, so it holds no warehouse pool.
    postgres = graph.get(AssetKey(["serving", "llm_margin_postgres"]))
    assert set(postgres.parent_keys) == {AssetKey(["serving", "llm_margin"])}
    assert postgres.group_name == serving.group_name == "serving"
    assert not postgres.pools


# The DuckDB clients BI tools ship, each installed from the package registry into an environment of
# its own, as an analyst would have them (docs/serving.md, "Which clients open it"):
# - the oldest DuckDB that reads the pinned storage format (0.9 cannot);
# - Superset 6.1's `duckdb` extra: duckdb >= 1.4.2, < 2 with duckdb-engine 0.17 on SQLAlchemy 1.4
#   (Superset pins SQLAlchemy < 2), plus the DuckDB CLI from PyPI (`duckdb-cli`, 1.x only).
CLIENT_STACKS = {
    "duckdb-0.10.3": ["duckdb==0.10.3"],
    "superset-6.1": [
        "duckdb>=1.4.2,<2",
        "duckdb-engine==0.17.0",
        "sqlalchemy>=1.4,<2",
        "duckdb-cli<2",
    ],
}
TABLES_SQL = """
    select table_schema || '.' || table_name from information_schema.tables
    where table_catalog = current_database() order by 1
"""
COST_SQL = "select sum(cost_usd)::varchar from marts.fct_llm_calls"
# Runs inside a client environment: row counts of every table and the total cost, read through
# the Python package, and through SQLAlchemy (the layer Superset uses) when the stack has it.
CLIENT_READER = """
import duckdb, json, sys
path, tables_sql, cost_sql = sys.argv[1:4]
con = duckdb.connect(path, read_only=True)
tables = [r[0] for r in con.execute(tables_sql).fetchall()]
out = {
    "version": duckdb.__version__,
    "counts": {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables},
    "cost": con.execute(cost_sql).fetchone()[0],
}
con.close()
try:
    import sqlalchemy as sa
except ImportError:
    sa = None
if sa is not None:
    engine = sa.create_engine(f"duckdb:///{path}", connect_args={"read_only": True})
    inspector = sa.inspect(engine)  # what Superset asks when a dataset is added
    out["sqlalchemy"] = {
        "version": sa.__version__,
        # duckdb-engine names schemas "<catalog>.<schema>": Superset lists llm_margin.marts
        "schemas": sorted(
            s for s in inspector.get_schema_names() if s.split(".")[-1] in ("marts", "audit")
        ),
        "marts_tables": sorted(inspector.get_table_names(schema="marts")),
        "columns": [c["name"] for c in inspector.get_columns("fct_llm_calls", schema="marts")],
    }
    with engine.connect() as conn:
        out["sqlalchemy"]["cost"] = conn.execute(sa.text(cost_sql)).scalar()
    engine.dispose()
print(json.dumps(out))
"""


def _client_env(stack: str, root: Path) -> Path:
    import subprocess
    import sys

    uv = Path(sys.executable).parent / "uv"
    assert uv.exists(), "make install puts uv in the virtualenv"
    venv = root / stack
    subprocess.run([str(uv), "venv", "-q", "-p", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(uv), "pip", "install", "-q", "--python", str(python), *CLIENT_STACKS[stack]],
        check=True,
    )
    return venv


def _docs_cli_command() -> str:
    """The DuckDB CLI command docs/serving.md tells people to run."""
    docs = (Path(__file__).parents[1] / "docs" / "serving.md").read_text()
    commands = [line for line in docs.splitlines() if "duckdb -readonly" in line]
    assert commands, "docs/serving.md shows how to open the copy with the DuckDB CLI"
    return commands[0].split("`")[1]


@pytest.mark.parametrize("stack", sorted(CLIENT_STACKS))
def test_bi_client_stacks_open_the_serving_copy_and_read_the_same_rows(built, tmp_path, stack):
    import json
    import os
    import subprocess

    venv = _client_env(stack, tmp_path)
    path = serving_file(built.serving)
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", CLIENT_READER, str(path), TABLES_SQL, COST_SQL],
        check=True,
        capture_output=True,
        text=True,
    )
    client = json.loads(out.stdout)
    assert client["version"].split(".")[0] in ("0", "1"), client["version"]

    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute(TABLES_SQL).fetchall()]
        counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}
        cost = con.execute(COST_SQL).fetchone()[0]
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' "
                "and table_name = 'fct_llm_calls' order by ordinal_position"
            ).fetchall()
        ]
    assert "marts.fct_llm_calls" in counts and "marts.mart_budget_status" in counts
    assert client["counts"] == counts
    assert client["cost"] == cost

    if "duckdb-engine==0.17.0" in CLIENT_STACKS[stack]:
        via_sqlalchemy = client["sqlalchemy"]
        assert via_sqlalchemy["version"].startswith("1.4.")
        assert via_sqlalchemy["schemas"] == ["llm_margin.audit", "llm_margin.marts"]
        assert via_sqlalchemy["marts_tables"] == sorted(
            t.split(".", 1)[1] for t in counts if t.startswith("marts.")
        )
        assert via_sqlalchemy["columns"] == columns
        assert via_sqlalchemy["cost"] == cost
        # The docs' CLI command, verbatim, with the example query on stdin.
        command = _docs_cli_command().replace("duckdb ", str(venv / "bin" / "duckdb") + " ", 1)
        cli = subprocess.run(
            ["bash", "-c", command + " -csv -noheader"],
            input=COST_SQL + ";\n",
            env={**os.environ, "LLM_MARGIN_DATA_DIR": str(built.root)},
            check=True,
            capture_output=True,
            text=True,
        )
        assert cli.stdout.strip() == cost
