"""Run bench/engine_limit.sql over a data directory's landing files.

``python -m bench.engine_limit DATA_DIR RESOLUTIONS OUT.json`` (the harness runs it as a child
process so its time and memory are its own).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from bench import totals as T

SQL_PATH = Path(__file__).with_name("engine_limit.sql")
MAX_CHAIN_DEPTH = 500  # dbt_project.yml var max_chain_depth
# The contract's fields (orchestration/contract/usage_event.v1.schema.json), read as JSON values.
FIELDS = (
    "event_id",
    "emitted_at",
    "occurred_at",
    "customer_id",
    "workspace_id",
    "feature",
    "user_id",
    "task_id",
    "parent_event_id",
    "attempt",
    "provider",
    "model",
    "route",
    "fallback_from_route",
    "service_tier",
    "prompt_tokens",
    "cached_prompt_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "retries",
    "latency_ms",
    "status",
    "outcome",
)


def _files(landing: Path, suffixes: tuple[str, ...]) -> list[str]:
    return sorted(
        p.as_posix()
        for p in landing.glob("*")
        if p.is_file() and not p.name.startswith((".", "_")) and p.name.lower().endswith(suffixes)
    )


def _list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def rules_file(data_dir: Path) -> Path:
    """The latest catalog export landed in landing/pricing (the bench lands no other price file)."""
    found = sorted((data_dir / "landing" / "pricing").glob("genai-prices-*.rules.jsonl.gz"))
    if not found:
        raise FileNotFoundError(f"no catalog rules file in {data_dir / 'landing' / 'pricing'}")
    return found[-1]


def render(data_dir: Path, resolutions: Path, now: datetime | None = None) -> str:
    landing = data_dir / "landing" / "usage_events"
    now = now or datetime.now(UTC)
    jsonl = _files(landing, (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz"))
    csv = _files(landing, (".csv", ".csv.gz"))
    parquet = _files(landing, (".parquet",))
    json_columns = ", ".join(f"'{f}': 'JSON'" for f in FIELDS)
    empty = (
        "(select "
        + ", ".join(f"null::json as {f}" for f in FIELDS)
        + ", null::varchar as filename where false)"
    )
    sources = {
        "jsonl_source": (
            f"read_json({_list(jsonl)}, format = 'newline_delimited', ignore_errors = true, "
            f"filename = true, columns = {{{json_columns}}})"
            if jsonl
            else empty
        ),
        "csv_source": (
            f"read_csv({_list(csv)}, header = true, delim = ',', quote = '\"', all_varchar = true, "
            "ignore_errors = true, "
            "union_by_name = true, filename = true)"
            if csv
            else empty
        ),
        "parquet_source": (
            f"read_parquet({_list(parquet)}, union_by_name = true, filename = true)"
            if parquet
            else empty
        ),
        "rules_file": rules_file(data_dir).as_posix(),
        "resolutions": f"read_parquet('{resolutions.as_posix()}')",
        "now_utc": now.isoformat(),
        "max_chain_depth": str(MAX_CHAIN_DEPTH),
    }
    sql = SQL_PATH.read_text()
    for key, value in sources.items():
        sql = sql.replace("{{" + key + "}}", value)
    return sql


def run(data_dir: Path, resolutions: Path, *, threads: int | None = None) -> T.Totals:
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")  # an offset-less timestamp is UTC (the contract)
        if threads:
            con.execute(f"set threads = {int(threads)}")
        rows = con.execute(render(data_dir, resolutions)).fetchall()
    return T.from_rows(rows)


def main(argv: list[str]) -> int:
    data_dir, resolutions, out = (Path(a) for a in argv[:3])
    T.dump(run(data_dir, resolutions), out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
