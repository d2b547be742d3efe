"""Load pricing files from ``landing/pricing/`` into ``lake/prices/``, keeping every one.

* ``*.rules.jsonl.gz``: the genai-prices catalog export (``orchestration/pricing/catalog.py``);
* ``*.json``: a LiteLLM ``model_prices_and_context_window.json``-shaped price file;
* ``*.csv``: a negotiated price sheet (``orchestration/pricing/sheets.py``).

Each is converted to the same flat price rules, validated as a whole (a pricing file with one bad
price is rejected with the line and field, since it would poison every cost: its rules are of
severity ``reject_file`` in ``rules``), loaded once per content (sha256), published like every
load (``lake.Lake.publish``: work dir, ``os.replace``, manifest last) and never replaced: later
loads supersede earlier ones in the warehouse, which keeps the history for restatement.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.ingest.lake import HASH_PREFIX, Lake, file_sha256
from orchestration.ingest.rules import Rule, Severity, findings_sql, q
from orchestration.pricing.sheets import PriceFileError, litellm_rules, negotiated_rules
from orchestration.sql_text import literal

RULE_COLUMNS = {
    "source": "varchar",
    "export_version": "varchar",
    "provider_id": "varchar",
    "model_id": "varchar",
    "rule_kind": "varchar",
    "rule_rank": "integer",
    "context_key": "varchar",
    "context_value": "varchar",
    "valid_from": "varchar",
    "valid_to": "varchar",
    "tod_start": "varchar",
    "tod_end": "varchar",
    "price_key": "varchar",
    "usage_key": "varchar",
    "unit_per": "bigint",
    "tier_start": "bigint",
    "usd_per_unit": "varchar",
}
REQUIRED = (
    "source",
    "export_version",
    "provider_id",
    "model_id",
    "rule_kind",
    "rule_rank",
    "price_key",
    "usage_key",
    "unit_per",
    "usd_per_unit",
)


@dataclass
class PriceFileLoad:
    source_file: str
    file_sha256: str | None
    status: str  # loaded | already_loaded | unsupported | failed
    rules_read: int = 0
    rules_loaded: int = 0
    problems: list[str] = field(default_factory=list)


def rules() -> list[Rule]:
    """What makes a price rule unusable; severity ``reject_file``: one bad rule rejects its file."""
    reject = Severity.REJECT_FILE
    price = "try_cast(usd_per_unit as decimal(38, 12))"
    out = [
        Rule("missing_required", c, f"{c} is null", q(f"{c} is missing"), 10, reject)
        for c in REQUIRED
    ]
    return out + [
        Rule(
            "wrong_type",
            "usd_per_unit",
            f"usd_per_unit is not null and ({price} is null or {price} < 0)",
            "'usd_per_unit is not a price: ' || usd_per_unit",
            20,
            reject,
        ),
        Rule(
            "unknown_value",
            "rule_kind",
            "rule_kind not in ('standard', 'variant', 'period')",
            "'unknown rule_kind ' || rule_kind",
            40,
            reject,
        ),
        Rule(
            "wrong_type",
            "valid_from",
            "valid_from is not null and try_cast(valid_from as date) is null",
            "'valid_from is not a date: ' || valid_from",
            20,
            reject,
        ),
        Rule(
            "wrong_type",
            "tod_start",
            "tod_start is not null and try_cast(tod_start as time) is null",
            "'tod_start is not a time: ' || tod_start",
            20,
            reject,
        ),
    ]


def load_price_file(
    path: Path, landing: Path, lake_root: Path, *, now: datetime | None = None
) -> PriceFileLoad:
    now = now or datetime.now(UTC)
    name = str(path.relative_to(landing))
    kind = price_file_kind(path)
    if kind is None:
        return PriceFileLoad(
            name,
            None,
            "unsupported",
            problems=[
                f"{name}: not a known pricing file (expected *.rules.jsonl.gz, a LiteLLM *.json or a *.csv sheet)"
            ],
        )
    lake = Lake(lake_root, "prices")
    sha = file_sha256(path)
    if lake.read_manifest(sha) is not None:
        return PriceFileLoad(name, sha, "already_loaded")
    try:
        rules_read = _read_rules(path, kind, version=f"{path.name}@{sha[:12]}")
    except (PriceFileError, ValueError, OSError) as exc:
        return PriceFileLoad(name, sha, "failed", problems=[str(exc)])
    table = pa.Table.from_pylist(
        rules_read, schema=pa.schema([(k, _ARROW[v]) for k, v in RULE_COLUMNS.items()])
    )
    lake.start(sha)
    try:
        with duckdb.connect() as con:
            con.execute("set timezone = 'UTC'")
            con.register("rules_in", table)
            con.execute(
                "create temp table rules as select *, "
                f"{findings_sql(rules(), Severity.REJECT_FILE)} as problems from rules_in"
            )
            read, bad = con.execute(
                "select count(*), count(*) filter (where len(problems) > 0) from rules"
            ).fetchall()[0]
            if bad:
                sample = [
                    r[0]
                    for r in con.execute(
                        "select problems[1].message from rules where len(problems) > 0 limit 5"
                    ).fetchall()
                ]
                lake.abandon(sha)
                return PriceFileLoad(
                    name,
                    sha,
                    "failed",
                    read,
                    0,
                    [f"{name}: {bad} invalid price rules, e.g. {sample}"],
                )
            target = lake.work_data(sha) / "rules" / f"{sha[:HASH_PREFIX]}.parquet"
            target.parent.mkdir(parents=True)
            con.execute(
                f"copy (select * exclude (problems), {q(name)} as _source_file, {q(sha)} as _file_sha256, "
                f"timestamptz {q(now.isoformat())} as _loaded_at from rules) "
                f"to {literal(target)} (format parquet)"
            )
    except Exception:
        lake.abandon(sha)
        raise
    result = PriceFileLoad(name, sha, "loaded", read, read)
    lake.publish(sha, {**asdict(result), "loaded_at": now.isoformat()})
    return result


_ARROW = {"varchar": pa.string(), "integer": pa.int32(), "bigint": pa.int64()}


def price_file_kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".rules.jsonl.gz"):
        return "catalog"
    if name.endswith(".json"):
        return "litellm"
    if name.endswith(".csv"):
        return "negotiated"
    return None


def _read_rules(path: Path, kind: str, *, version: str) -> list[dict]:
    if kind == "catalog":
        with gzip.open(path, "rt") as handle:
            return [{k: row.get(k) for k in RULE_COLUMNS} for row in map(json.loads, handle)]
    text = path.read_text(encoding="utf-8-sig")
    convert = litellm_rules if kind == "litellm" else negotiated_rules
    rules = list(convert(text, file_name=path.name, version=version))
    if not rules:
        raise PriceFileError(f"{path.name}: no prices found")
    return rules


def load_pricing(
    landing: Path, lake_root: Path, *, now: datetime | None = None
) -> list[PriceFileLoad]:
    files = sorted(
        p for p in landing.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
    )
    return [load_price_file(p, landing, lake_root, now=now) for p in files]
