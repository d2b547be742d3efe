"""Token sizes per feature, written as call shapes for dbt to price (interface: the lake table
``lake/plan_shapes/call_shapes.parquet``, priced by ``intermediate.int_call_shapes_priced``).

Where a feature's token sizes come from, first that applies:
  1. ``observed``: the team's own traffic, the feature's tasks of the period (the last full month
     in the warehouse, orchestration/plans/period.py), each task with all its calls (retries and
     fallbacks included) and their token counts and UTC second of day;
  2. ``trace``: a public trace the feature names (``trace: azure-code`` or ``azure-conv``, Azure
     LLM inference trace 2023, CC-BY-4.0, in ../shared/datasets/): one call per request, context
     tokens as prompt, generated tokens as completion, the request's second of day;
  3. ``file``: the plan's ``tokens`` ({prompt, completion, calls_per_task, cached_prompt}), one
     task shape per hour of the day (second 1800 of each hour), so time-of-day prices count.
A shape keeps its tokens and time of day; its provider, model and service tier are the plan's.
At most ``MAX_TASKS`` tasks per feature are written (drawn without replacement by the plan's
seed when there are more).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orchestration.paths import PROJECT_ROOT
from orchestration.plans.period import Period
from orchestration.plans.plan_file import Feature, Plan

MAX_TASKS = 2_000
DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"
TRACE_FILES = {
    "azure-code": Path("azure-llm-inference-2023") / "AzureLLMInferenceTrace_code.csv",
    "azure-conv": Path("azure-llm-inference-2023") / "AzureLLMInferenceTrace_conv.csv",
}

SCHEMA = pa.schema(
    [
        ("shape_set", pa.string()),
        ("feature", pa.string()),
        ("task_key", pa.string()),
        ("call_index", pa.int32()),
        ("provider", pa.string()),
        ("model", pa.string()),
        ("service_tier", pa.string()),
        ("price_date", pa.date32()),
        ("second_of_day", pa.int32()),
        ("prompt_tokens", pa.int64()),
        ("cached_prompt_tokens", pa.int64()),
        ("cache_write_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("reasoning_tokens", pa.int64()),
    ]
)
TOKEN_COLUMNS = (
    "prompt_tokens",
    "cached_prompt_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
)


@dataclass(frozen=True)
class FeatureShapes:
    """The task shapes of one feature: one row per call, task_key grouping a task's calls."""

    feature: str
    source: str  # observed, trace, file
    detail: str  # e.g. "412 tasks of 2026-10-01..2026-10-31" or the trace's file
    calls: pa.Table  # columns: task_key, call_index, second_of_day, *TOKEN_COLUMNS


def traces_present(datasets: Path = DATASETS) -> set[str]:
    return {name for name, relative in TRACE_FILES.items() if (datasets / relative).is_file()}


def observed_features(con: duckdb.DuckDBPyConnection, start: date, end: date) -> set[str]:
    rows = con.execute(
        "select distinct feature from marts.fct_tasks "
        "where task_date >= ? and task_date < ? and feature is not null",
        [start, end],
    ).fetchall()
    return {row[0] for row in rows}


def observed_shapes(
    con: duckdb.DuckDBPyConnection, feature: str, start: date, end: date, rng: np.random.Generator
) -> FeatureShapes:
    """The feature's tasks of [start, end) with every call of each (fct_llm_calls charges a
    call to its task), at most MAX_TASKS of them."""
    task_ids = [
        row[0]
        for row in con.execute(
            "select task_id from marts.fct_tasks where feature = ? and task_date >= ? "
            "and task_date < ? order by task_id",
            [feature, start, end],
        ).fetchall()
    ]
    chosen = _choose(task_ids, rng)
    con.execute("create or replace temporary table plan_tasks (task_id varchar)")
    con.executemany("insert into plan_tasks values (?)", [[t] for t in chosen])
    calls = con.sql(
        """
        select
            calls.task_id as task_key,
            cast(row_number() over (
                partition by calls.task_id order by calls.occurred_at, calls.event_id
            ) as integer) as call_index,
            cast(floor(epoch(calls.occurred_at) - epoch(date_trunc('day', calls.occurred_at)))
                as integer) as second_of_day,
            cast(coalesce(calls.prompt_tokens, 0) as bigint) as prompt_tokens,
            cast(coalesce(calls.cached_prompt_tokens, 0) as bigint) as cached_prompt_tokens,
            cast(coalesce(calls.cache_write_tokens, 0) as bigint) as cache_write_tokens,
            cast(coalesce(calls.completion_tokens, 0) as bigint) as completion_tokens,
            cast(coalesce(calls.reasoning_tokens, 0) as bigint) as reasoning_tokens
        from marts.fct_llm_calls as calls
        inner join plan_tasks on calls.task_id = plan_tasks.task_id
        order by task_key, call_index
        """
    ).to_arrow_table()
    last = end - timedelta(days=1)
    detail = f"{len(chosen):,} of its {len(task_ids):,} tasks of {start}..{last} (observed)"
    return FeatureShapes(feature, "observed", detail, calls)


def trace_shapes(
    feature: str, trace: str, rng: np.random.Generator, datasets: Path = DATASETS
) -> FeatureShapes:
    path = datasets / TRACE_FILES[trace]
    table = pacsv.read_csv(path)
    rows = np.arange(table.num_rows)
    chosen = np.sort(np.asarray(_choose(list(rows), rng), dtype=np.int64))
    picked = table.take(pa.array(chosen))
    stamps = picked.column("TIMESTAMP").to_pylist()
    seconds = [_second_of_day(str(s)) for s in stamps]
    prompt = np.asarray(picked.column("ContextTokens").to_pylist(), dtype=np.int64)
    completion = np.asarray(picked.column("GeneratedTokens").to_pylist(), dtype=np.int64)
    zeros = np.zeros(len(chosen), dtype=np.int64)
    calls = pa.table(
        {
            "task_key": [f"{trace}:{i}" for i in chosen],
            "call_index": pa.array(np.ones(len(chosen), dtype=np.int32)),
            "second_of_day": pa.array(np.asarray(seconds, dtype=np.int32)),
            "prompt_tokens": prompt,
            "cached_prompt_tokens": zeros,
            "cache_write_tokens": zeros,
            "completion_tokens": completion,
            "reasoning_tokens": zeros,
        }
    )
    detail = (
        f"{len(chosen):,} requests of {TRACE_FILES[trace].as_posix()} "
        "(Azure LLM inference trace 2023, CC-BY-4.0)"
    )
    return FeatureShapes(feature, "trace", detail, calls)


def _second_of_day(stamp: str) -> int:
    clock = stamp.split(" ")[1] if " " in stamp else stamp.split("T")[1]
    hours, minutes, seconds = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + int(float(seconds))


def file_shapes(feature: Feature) -> FeatureShapes:
    tokens = feature.tokens
    rows: dict[str, list] = {name: [] for name in ("task_key", "call_index", "second_of_day")}
    for name in TOKEN_COLUMNS:
        rows[name] = []
    for hour in range(24):
        for call in range(1, tokens.calls_per_task + 1):
            rows["task_key"].append(f"file:{hour:02d}")
            rows["call_index"].append(call)
            rows["second_of_day"].append(hour * 3600 + 1800)
            rows["prompt_tokens"].append(tokens.prompt)
            rows["cached_prompt_tokens"].append(tokens.cached_prompt)
            rows["cache_write_tokens"].append(0)
            rows["completion_tokens"].append(tokens.completion)
            rows["reasoning_tokens"].append(0)
    calls = pa.table(
        {
            **rows,
            "call_index": pa.array(rows["call_index"], pa.int32()),
            "second_of_day": pa.array(rows["second_of_day"], pa.int32()),
        }
    )
    detail = (
        f"the plan file: {tokens.calls_per_task} call(s) of {tokens.prompt:,} prompt "
        f"({tokens.cached_prompt:,} cached) and {tokens.completion:,} completion tokens"
    )
    return FeatureShapes(feature.feature, "file", detail, calls)


def _choose(items: list, rng: np.random.Generator) -> list:
    if len(items) <= MAX_TASKS:
        return list(items)
    picked = np.sort(rng.choice(len(items), size=MAX_TASKS, replace=False))
    return [items[i] for i in picked]


def shapes_for_plan(
    plan: Plan,
    *,
    con: duckdb.DuckDBPyConnection | None,
    period: Period | None,
    observed: set[str],
    rng: np.random.Generator,
    datasets: Path = DATASETS,
) -> list[FeatureShapes]:
    """Each feature's shapes from the first source that has them (module docstring)."""
    present = traces_present(datasets)
    found = []
    for feature in plan.features:
        if feature.feature in observed and con is not None and period is not None:
            found.append(observed_shapes(con, feature.feature, period.start, period.end, rng))
        elif feature.trace is not None and feature.trace in present:
            found.append(trace_shapes(feature.feature, feature.trace, rng, datasets))
        elif feature.tokens is not None:
            found.append(file_shapes(feature))
        else:  # check_against_warehouse refuses this before anything runs
            raise ValueError(f"feature {feature.feature!r} has no token sizes")
    return found


def shapes_table(plan: Plan, shapes: list[FeatureShapes], price_date: date) -> pa.Table:
    """The call-shapes rows of a plan: each feature's shapes on its provider, model and tier.
    A task key is ``<feature>/<source key>`` so keys of two features never collide."""
    by_name = {f.feature: f for f in plan.features}
    parts = []
    for shape in shapes:
        feature = by_name[shape.feature]
        n = shape.calls.num_rows
        parts.append(
            pa.table(
                {
                    "shape_set": pa.array([plan.name] * n, pa.string()),
                    "feature": pa.array([shape.feature] * n, pa.string()),
                    "task_key": pa.array(
                        [
                            f"{shape.feature}/{k}"
                            for k in shape.calls.column("task_key").to_pylist()
                        ],
                        pa.string(),
                    ),
                    "call_index": shape.calls.column("call_index").cast(pa.int32()),
                    # normalised as staging normalises real calls (base_usage__event_versions)
                    "provider": pa.array([feature.provider.strip().lower()] * n, pa.string()),
                    "model": pa.array([feature.model.strip()] * n, pa.string()),
                    "service_tier": pa.array([feature.service_tier] * n, pa.string()),
                    "price_date": pa.array([price_date] * n, pa.date32()),
                    "second_of_day": shape.calls.column("second_of_day").cast(pa.int32()),
                    **{c: shape.calls.column(c).cast(pa.int64()) for c in TOKEN_COLUMNS},
                },
                schema=SCHEMA,
            )
        )
    return pa.concat_tables(parts) if parts else SCHEMA.empty_table()


def shapes_path(lake: Path) -> Path:
    return lake / "plan_shapes" / "call_shapes.parquet"


def write_shapes(lake: Path, table: pa.Table) -> Path:
    """Replace ``lake/plan_shapes/call_shapes.parquet`` atomically (temp file + rename)."""
    target = shapes_path(lake)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".call_shapes.parquet.{os.getpid()}.tmp"
    pq.write_table(table.cast(SCHEMA), tmp)
    os.replace(tmp, target)
    return target
