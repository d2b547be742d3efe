"""The same dbt project on DuckDB and on Spark, over the same lake, gives the same warehouse.

Run by ``make test-spark`` only (marker ``spark``; needs the ``spark`` extra and Java 17):

1. generate a small data set, holding its last landing file back;
2. ``llm-margin materialize --target duckdb`` and ``--target spark``: ingest once, build every
   model on each engine; DuckDB runs every dbt test (data and unit), Spark the unit tests; both
   must succeed;
3. compare every staging, audit and mart model of the dbt manifest between the two warehouses
   (same columns, same rows; float and decimal columns to 1e-9, timestamps exactly, in UTC);
4. land the held-back file and materialize both again: DuckDB runs delete+insert, Spark
   insert_overwrite of whole event-date partitions, and Spark runs every data test (on whole
   tables, as everywhere in the suite: tests/conftest.py); compare again;
5. rebuild DuckDB with --full-refresh and compare the incremental Spark result with it.

A model that fails or is missing on one engine fails the test; a model added later is compared
without touching this file.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.dbt.project import dbt_executable, dbt_target_path
from orchestration.paths import DATA_DIR_ENV, DBT_TARGET_ENV, PROJECT_ROOT, DataPaths

pytestmark = pytest.mark.spark

COMPARED_FOLDERS = ("models/staging/", "models/audit/", "models/marts/")
TOLERANCE = 1e-9
# When a row's partition was last written (macros/cross_db/incremental.sql): differs by design
# between two builds, and between an incremental build and a full refresh; nothing else may.
BOOKKEEPING_COLUMNS = {"rebuilt_at"}
EXPORT_SCRIPT = Path(__file__).with_name("export_spark_tables.py")
TIMINGS: dict[str, float] = {}


def _run(stage: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    started = time.monotonic()
    result = subprocess.run(
        args, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    TIMINGS[stage] = time.monotonic() - started
    print(f"[timing] {stage}: {TIMINGS[stage]:.1f}s", flush=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-60:])
        pytest.fail(f"{stage} failed (exit {result.returncode}):\n{tail}")
    return result


def _cli(stage: str, env: dict[str, str], *args: str) -> None:
    _run(stage, [sys.executable, "-m", "orchestration.cli", *args], env)


def _materialize(stage: str, env: dict[str, str], target: str) -> None:
    _cli(stage, env, "materialize", "--target", target, "--log-level", "WARNING")


@dataclass(frozen=True)
class Model:
    name: str
    relation: str  # schema.alias
    path: str


def _manifest(target: str) -> dict:
    return json.loads((PROJECT_ROOT / dbt_target_path(target) / "manifest.json").read_text())


def _compared_models(target: str) -> list[Model]:
    """Every materialized staging, audit and mart model of the manifest parsed for ``target``."""
    manifest = _manifest(target)
    models = [
        Model(node["name"], f"{node['schema']}.{node['alias']}", node["original_file_path"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"].get("enabled", True)
        and node["config"]["materialized"] != "ephemeral"
        and node["original_file_path"].startswith(COMPARED_FOLDERS)
    ]
    return sorted(models, key=lambda model: model.relation)


def _duckdb_tables(paths: DataPaths, models: list[Model]) -> dict[str, pa.Table | str]:
    tables: dict[str, pa.Table | str] = {}
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        con.execute("set timezone = 'UTC'")
        for model in models:
            try:
                tables[model.relation] = con.sql(f"select * from {model.relation}").to_arrow_table()
            except duckdb.Error as exc:
                tables[model.relation] = f"cannot read on duckdb: {exc}"
    return tables


def _spark_tables(
    stage: str, env: dict[str, str], out_dir: Path, models: list[Model]
) -> dict[str, pa.Table | str]:
    shutil.rmtree(out_dir, ignore_errors=True)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(EXPORT_SCRIPT), str(out_dir), *[m.relation for m in models]],
        env=env,
        cwd=out_dir.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    TIMINGS[stage] = time.monotonic() - started
    print(f"[timing] {stage}: {TIMINGS[stage]:.1f}s", flush=True)
    tables: dict[str, pa.Table | str] = {}
    for model in models:
        path = out_dir / f"{model.relation}.parquet"
        tables[model.relation] = (
            pq.read_table(path)
            if path.exists()
            else f"cannot read on spark: {result.stderr.strip()[-2000:]}"
        )
    return tables


# --- comparison ---------------------------------------------------------------------------------


def _kind(data_type: pa.DataType) -> str:
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "float"
    if pa.types.is_integer(data_type):
        return "integer"
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_date(data_type):
        return "date"
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "string"
    if pa.types.is_null(data_type):
        return "null"
    return str(data_type)


def _values(column: pa.ChunkedArray, kind: str) -> list:
    """Python values that compare equal across engines: timestamps as UTC microseconds (a
    timestamp without zone is UTC by the project's convention), decimals as floats."""
    if kind == "timestamp":
        unit = column.type.unit
        column = column.cast(pa.timestamp(unit)).cast(pa.int64())
        scale = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}[unit]
        return [None if v is None else round(v * scale) for v in column.to_pylist()]
    if kind == "float":
        return [None if v is None else float(v) for v in column.to_pylist()]
    return column.to_pylist()


def _close(left, right) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, float) or isinstance(right, float):
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        return abs(left - right) <= TOLERANCE * max(1.0, abs(left), abs(right))
    return left == right


def _sort_key(row: tuple) -> tuple:
    # None first; floats rounded so that 1e-12 noise cannot reorder rows
    return tuple(
        (0, "") if v is None else (1, round(v, 6) if isinstance(v, float) else v) for v in row
    )


def differences(duck: pa.Table, spark: pa.Table, *, limit: int = 5) -> list[str]:
    """What differs between two tables, as readable lines (empty when they agree)."""
    duck_columns = {
        name.lower(): name for name in duck.column_names if name.lower() not in BOOKKEEPING_COLUMNS
    }
    spark_columns = {
        name.lower(): name for name in spark.column_names if name.lower() not in BOOKKEEPING_COLUMNS
    }
    if set(duck_columns) != set(spark_columns):
        return [
            f"columns differ: only on duckdb {sorted(set(duck_columns) - set(spark_columns))}, "
            f"only on spark {sorted(set(spark_columns) - set(duck_columns))}"
        ]
    if duck.num_rows != spark.num_rows:
        return [f"row counts differ: duckdb {duck.num_rows}, spark {spark.num_rows}"]
    names = sorted(duck_columns)
    problems: list[str] = []
    columns: dict[str, tuple[list, list]] = {}
    for name in names:
        left = duck.column(duck_columns[name])
        right = spark.column(spark_columns[name])
        kinds = {_kind(left.type), _kind(right.type)} - {"null"}
        if len(kinds) > 1 and kinds != {"integer", "float"}:
            problems.append(f"{name}: types differ: duckdb {left.type}, spark {right.type}")
            continue
        kind = "float" if "float" in kinds else (kinds.pop() if kinds else "null")
        columns[name] = (_values(left, kind), _values(right, kind))
    if problems:
        return problems
    duck_rows = sorted(zip(*(columns[n][0] for n in names), strict=True), key=_sort_key)
    spark_rows = sorted(zip(*(columns[n][1] for n in names), strict=True), key=_sort_key)
    for duck_row, spark_row in zip(duck_rows, spark_rows, strict=True):
        mismatched = [
            f"{name}: duckdb {a!r} != spark {b!r}"
            for name, a, b in zip(names, duck_row, spark_row, strict=True)
            if not _close(a, b)
        ]
        if mismatched:
            problems.append("; ".join(mismatched))
            if len(problems) >= limit:
                break
    return problems


def _compare(stage: str, models: list[Model], duck, spark) -> None:
    report: list[str] = []
    for model in models:
        left, right = duck[model.relation], spark[model.relation]
        if isinstance(left, str) or isinstance(right, str):
            report.append(f"{model.relation}: {left if isinstance(left, str) else right}")
            continue
        for line in differences(left, right):
            report.append(f"{model.relation} ({model.path}): {line}")
    compared = ", ".join(
        f"{m.relation} ({duck[m.relation].num_rows} rows)"
        for m in models
        if not isinstance(duck[m.relation], str)
    )
    print(f"[{stage}] compared {compared}", flush=True)
    assert not report, f"{stage}: the engines disagree:\n" + "\n".join(report)


def test_the_comparison_sees_differences():
    utc = pa.timestamp("us", tz="UTC")
    duck = pa.table(
        {
            "id": ["a", "b"],
            "cost_usd": pa.array([1.5, 2.0]),
            "at": pa.array([0, 1_000_000], pa.timestamp("us")),
        }
    )
    same = pa.table(
        {
            "ID": ["b", "a"],
            "cost_usd": pa.array([2.0 + 1e-12, 1.5]),
            "at": pa.array([1_000_000, 0], utc),
        }
    )
    assert differences(duck, same) == []
    off = same.set_column(1, "cost_usd", pa.array([2.0 + 1e-6, 1.5]))
    assert differences(duck, off) and "cost_usd" in differences(duck, off)[0]
    later = same.set_column(2, "at", pa.array([1_000_001, 0], utc))
    assert differences(duck, later) and "at" in differences(duck, later)[0]
    assert "row counts differ" in differences(duck, same.slice(0, 1))[0]
    assert "columns differ" in differences(duck, same.drop_columns(["at"]))[0]
    stamped = same.append_column("rebuilt_at", pa.array([5, 6], utc))
    assert differences(duck.append_column("rebuilt_at", pa.array([0, 0], utc)), stamped) == []


# --- the run ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("engines")
    paths = DataPaths(work / "data")
    env = {**os.environ, DATA_DIR_ENV: str(paths.root), "DAGSTER_HOME": str(work / "dagster_home")}
    env.pop(DBT_TARGET_ENV, None)
    (work / "dagster_home").mkdir()
    _cli("generate", env, "generate", "--events", "3000", "--days", "5", "--customers", "6",
         "--seed", "11", "--quiet")  # fmt: skip
    landing = paths.landing_for("usage_events")
    held_back = sorted(p for p in landing.iterdir() if p.is_file())[-1]
    later = work / "later"
    later.mkdir()
    shutil.move(held_back, later / held_back.name)
    yield paths, env, work, later / held_back.name, landing
    total = sum(TIMINGS.values())
    print(
        "[timing] "
        + ", ".join(f"{k} {v:.0f}s" for k, v in TIMINGS.items())
        + f"; total {total:.0f}s"
    )


def test_duckdb_and_spark_build_the_same_warehouse_then_stay_equal_incrementally(run):
    paths, env, work, held_back, landing = run

    # the first builds run the dbt unit tests too, so they are proven on both engines. Every dbt
    # test runs once per engine: Spark's data tests run in the incremental step below (each
    # Spark statement costs about a second, whatever its size).
    with_unit_tests = {**env, "LLM_MARGIN_DBT_UNIT_TESTS": "1"}
    _materialize("materialize duckdb", with_unit_tests, "duckdb")
    _materialize(
        "materialize spark",
        {**with_unit_tests, "LLM_MARGIN_DBT_EXCLUDE": "resource_type:test"},
        "spark",
    )
    models = _compared_models("duckdb")
    assert {m.name for m in models} == {m.name for m in _compared_models("spark")}, (
        "the engines' manifests hold different models"
    )
    assert {"stg_usage__events", "mart_customer_usage_summary"} <= {m.name for m in models}
    strategies = {
        target: {
            key: node["config"].get(key)
            for node in _manifest(target)["nodes"].values()
            if node["name"] == "stg_usage__events"
            for key in ("incremental_strategy", "partition_by", "file_format")
        }
        for target in ("duckdb", "spark")
    }
    assert strategies["duckdb"]["incremental_strategy"] == "delete+insert"
    assert strategies["spark"] == {
        "incremental_strategy": "insert_overwrite",
        "partition_by": ["event_date"],
        "file_format": "parquet",
    }
    _compare(
        "full build",
        models,
        _duckdb_tables(paths, models),
        _spark_tables("export spark", env, work / "spark_export", models),
    )

    # one incremental step: one more landing file (late records for earlier days included)
    shutil.move(held_back, landing / held_back.name)
    _materialize("materialize duckdb incremental", env, "duckdb")
    _materialize("materialize spark incremental", env, "spark")
    spark_incremental = _spark_tables(
        "export spark incremental", env, work / "spark_export", models
    )
    _compare("incremental", models, _duckdb_tables(paths, models), spark_incremental)

    # and the incremental Spark warehouse equals a full rebuild
    _run(
        "duckdb full refresh",
        [
            dbt_executable(),
            "build",
            "--full-refresh",
            "--quiet",
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT),
            "--target",
            "duckdb",
            "--target-path",
            str(work / "dbt_target"),
            "--log-path",
            str(work / "dbt_logs"),
        ],
        env,
    )
    _compare(
        "incremental vs full refresh", models, _duckdb_tables(paths, models), spark_incremental
    )
