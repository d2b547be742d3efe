"""Resolve the raw (provider, model) strings seen in usage events to a catalog model.

Uses the catalog's own matching rules (genai-prices ``find_provider_model``: provider ids and
aliases, model match clauses, compact dated snapshots, and fallback providers such as Anthropic
models served by Google). Only the distinct pairs are resolved — a few hundred at most — so no
Python runs per call; the result is a table the warehouse joins on.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from genai_prices import data_snapshot

from orchestration.pricing.catalog import catalog_version
from orchestration.sql_text import literal

SCHEMA = pa.schema(
    [
        ("raw_provider", pa.string()),
        ("raw_model", pa.string()),
        ("calls_seen", pa.int64()),
        ("is_resolved", pa.bool_()),
        ("price_provider_id", pa.string()),
        ("price_model_id", pa.string()),
        ("is_context_priced", pa.bool_()),
        ("unresolved_reason", pa.string()),
        ("catalog_version", pa.string()),
        ("resolved_at", pa.timestamp("us", tz="UTC")),
    ]
)


def resolve_pair(provider: str, model: str) -> dict:
    """One (provider, model) pair → the catalog model that prices it, or why none does."""
    snapshot = data_snapshot.get_snapshot()
    try:
        price_provider, price_model = snapshot.find_provider_model(model, None, provider, None)
    except LookupError as exc:
        return {
            "is_resolved": False,
            "price_provider_id": None,
            "price_model_id": None,
            "is_context_priced": False,
            "unresolved_reason": str(exc),
        }
    # calc_price ignores request context (batch, service tier) for a model borrowed from a
    # fallback provider; the warehouse must do the same.
    owned = any(price_model is m for m in price_provider.models)
    return {
        "is_resolved": True,
        "price_provider_id": price_provider.id,
        "price_model_id": price_model.id,
        "is_context_priced": owned,
        "unresolved_reason": None,
    }


def distinct_pairs(
    lake_events_glob: str, *, extra_globs: tuple[str, ...] = ()
) -> list[tuple[str, str, int]]:
    """The (provider, model) pairs of the usage events with their call counts, and those of the
    lake tables in ``extra_globs`` (provider and model columns; the plan calculator's call
    shapes) that no usage event has, with 0 calls: they are priced through the same resolution."""

    def pairs_of(glob: str, counted: bool) -> str:
        return (
            f"select lower(trim(provider)) as provider, trim(model) as model, "
            f"{'count(*)' if counted else '0'} as calls "
            f"from read_parquet({literal(glob)}, hive_partitioning = true, union_by_name = true) "
            "where provider is not null and model is not null group by 1, 2"
        )

    parts = [pairs_of(lake_events_glob, True)]
    parts += [pairs_of(glob, False) for glob in extra_globs]
    with duckdb.connect() as con:
        return con.execute(
            "select provider, model, cast(sum(calls) as bigint) from ("
            + " union all ".join(parts)
            + ") as pairs group by 1, 2 order by 1, 2"
        ).fetchall()


def scenario_candidate_pairs(lake_root: Path) -> list[tuple[str, str]]:
    """The candidate (provider, model) pairs of the loaded what-if scenarios
    (``lake/scenarios/scenario_rules.parquet``, orchestration/scenarios/lake.py), normalised as
    the usage events' are: the what-if models price them through this same resolution."""
    rules = lake_root / "scenarios" / "scenario_rules.parquet"
    if not rules.exists():
        return []
    with duckdb.connect() as con:
        return con.execute(
            f"select distinct lower(trim(candidate_provider)), trim(candidate_model) "
            f"from read_parquet({literal(rules)}) "
            "where candidate_provider is not null and candidate_model is not null order by 1, 2"
        ).fetchall()


def write_resolution(lake_root: Path, *, now: datetime | None = None) -> tuple[Path, int, int]:
    """Resolve every pair in the lake (the usage events', the plan calculator's call shapes' and
    the what-if scenarios' candidates) and replace ``lake/model_resolution/resolution.parquet``
    atomically, unless the file already says the same (``resolved_at`` aside): then it is left
    as it is, so a run over the same lake changes nothing downstream. Returns (path, pairs,
    unresolved pairs)."""
    now = now or datetime.now(UTC)
    shapes = lake_root / "plan_shapes"  # orchestration/plans/shapes.py
    extra = (shapes / "*.parquet").as_posix() if any(shapes.glob("*.parquet")) else None
    pairs = distinct_pairs(
        (lake_root / "usage_events" / "*" / "*.parquet").as_posix(),
        extra_globs=(extra,) if extra else (),
    )
    seen = {(provider, model) for provider, model, _ in pairs}
    # a scenario's candidate no call used yet is resolved too, seen in 0 calls
    pairs += [(p, m, 0) for p, m in scenario_candidate_pairs(lake_root) if (p, m) not in seen]
    rows = []
    for provider, model, calls in pairs:
        rows.append(
            {
                "raw_provider": provider,
                "raw_model": model,
                "calls_seen": calls,
                **resolve_pair(provider, model),
                "catalog_version": catalog_version(),
                "resolved_at": now,
            }
        )
    target_dir = lake_root / "model_resolution"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "resolution.parquet"
    unresolved = sum(1 for r in rows if not r["is_resolved"])
    if _same_resolutions(target, rows):
        return target, len(rows), unresolved
    tmp = target_dir / ".resolution.parquet.tmp"
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), tmp)
    os.replace(tmp, target)
    return target, len(rows), unresolved


def _same_resolutions(target: Path, rows: list[dict]) -> bool:
    """Whether ``target`` holds exactly these rows, ``resolved_at`` aside."""
    if not target.exists():
        return False
    try:
        existing = pq.read_table(target)
    except (OSError, pa.ArrowInvalid):
        return False
    if existing.schema != SCHEMA:
        return False
    kept = [name for name in SCHEMA.names if name != "resolved_at"]
    old = existing.select(kept).to_pylist()
    return old == [{name: row[name] for name in kept} for row in rows]
