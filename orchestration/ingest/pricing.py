"""Load pricing exports from ``landing/pricing/`` into ``lake/prices/``, keeping every export.

Supported today: the genai-prices catalog export (``*.rules.jsonl.gz``, written by the
``landing/pricing_catalog`` asset, see ``orchestration/pricing/catalog.py``). Each export is loaded
once per content (sha256) and never replaced: the warehouse prices with the latest export and
keeps the older ones for history and restatement.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.ingest.lake import HASH_PREFIX, file_sha256

RULE_COLUMNS = {
    "source": "varchar", "export_version": "varchar", "provider_id": "varchar", "model_id": "varchar",
    "rule_kind": "varchar", "rule_rank": "integer", "context_key": "varchar", "context_value": "varchar",
    "valid_from": "varchar", "valid_to": "varchar", "tod_start": "varchar", "tod_end": "varchar",
    "price_key": "varchar", "usage_key": "varchar", "unit_per": "bigint", "tier_start": "bigint",
    "usd_per_unit": "varchar",
}
REQUIRED = ("source", "export_version", "provider_id", "model_id", "rule_kind", "rule_rank",
            "price_key", "usage_key", "unit_per", "usd_per_unit")


@dataclass
class PriceFileLoad:
    source_file: str
    file_sha256: str | None
    status: str  # loaded | already_loaded | unsupported | failed
    rules_read: int = 0
    rules_loaded: int = 0
    problems: list[str] = field(default_factory=list)


def _problems_sql() -> str:
    checks = [f"case when {c} is null then '{c} is missing' end" for c in REQUIRED]
    checks += [
        "case when try_cast(usd_per_unit as decimal(38, 12)) is null or "
        "try_cast(usd_per_unit as decimal(38, 12)) < 0 then 'usd_per_unit is not a price: ' || "
        "coalesce(usd_per_unit, 'null') end",
        "case when rule_kind not in ('standard', 'variant') then 'rule_kind must be standard or variant' end",
        "case when valid_from is not null and try_cast(valid_from as date) is null then "
        "'valid_from is not a date: ' || valid_from end",
        "case when tod_start is not null and try_cast(tod_start as time) is null then "
        "'tod_start is not a time: ' || tod_start end",
    ]
    return "list_filter([" + ", ".join(checks) + "], lambda p: p is not null)"


def load_price_file(path: Path, landing: Path, lake_root: Path, *, now: datetime | None = None) -> PriceFileLoad:
    now = now or datetime.now(UTC)
    name = str(path.relative_to(landing))
    if not path.name.endswith(".rules.jsonl.gz"):
        return PriceFileLoad(name, None, "unsupported", problems=[
            f"{name}: not a known pricing export (expected *.rules.jsonl.gz from the genai-prices export)"])
    sha = file_sha256(path)
    manifests = lake_root / "_manifests" / "prices"
    manifest = manifests / f"{sha}.json"
    if manifest.exists():
        return PriceFileLoad(name, sha, "already_loaded")
    target_dir = lake_root / "prices" / "rules"
    target_dir.mkdir(parents=True, exist_ok=True)
    manifests.mkdir(parents=True, exist_ok=True)
    columns = ", ".join(f"{k}: '{v}'" for k, v in RULE_COLUMNS.items())
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        con.execute(
            f"create temp table rules as select *, {_problems_sql()} as problems from "
            f"read_json('{path.as_posix()}', format = 'newline_delimited', columns = {{{columns}}})"
        )
        read, bad = con.execute(
            "select count(*), count(*) filter (where len(problems) > 0) from rules"
        ).fetchall()[0]
        if bad:
            sample = [r[0] for r in con.execute(
                "select problems[1] from rules where len(problems) > 0 limit 5").fetchall()]
            return PriceFileLoad(name, sha, "failed", read, 0, [f"{name}: {bad} invalid price rules, e.g. {sample}"])
        tmp = target_dir / f".{sha[:HASH_PREFIX]}.parquet.tmp"
        con.execute(
            f"copy (select * exclude (problems), '{name}' as _source_file, '{sha}' as _file_sha256, "
            f"timestamptz '{now.isoformat()}' as _loaded_at from rules) to '{tmp.as_posix()}' (format parquet)"
        )
    os.replace(tmp, target_dir / f"{sha[:HASH_PREFIX]}.parquet")
    result = PriceFileLoad(name, sha, "loaded", read, read)
    manifest_tmp = manifest.with_suffix(".tmp")
    manifest_tmp.write_text(json.dumps({**asdict(result), "loaded_at": now.isoformat()}) + "\n")
    os.replace(manifest_tmp, manifest)
    return result


def load_pricing(landing: Path, lake_root: Path, *, now: datetime | None = None) -> list[PriceFileLoad]:
    files = sorted(p for p in landing.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    return [load_price_file(p, landing, lake_root, now=now) for p in files]


def reset_rules(lake_root: Path) -> None:
    """Remove loaded price rules and their manifests (tests only)."""
    shutil.rmtree(lake_root / "prices", ignore_errors=True)
    shutil.rmtree(lake_root / "_manifests" / "prices", ignore_errors=True)
