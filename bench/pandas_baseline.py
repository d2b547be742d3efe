"""The "build it in-house" path: the same numbers as the pipeline, in plain Python and pandas.

What a team would write without a warehouse: read every landing file, check each record against
the contract in Python, deduplicate, price every call from the catalog rules file, chain retries
and fallbacks into tasks, and sum per customer and day. Straightforward on purpose (per-record
validation, pandas merges in chunks), so the benchmark shows what that path costs.

``python -m bench.pandas_baseline DATA_DIR RESOLUTIONS OUT.json``
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from bench import totals as T
from bench.engine_limit import MAX_CHAIN_DEPTH, rules_file

STRING_FIELDS = (
    "event_id",
    "customer_id",
    "workspace_id",
    "feature",
    "user_id",
    "task_id",
    "parent_event_id",
    "provider",
    "model",
    "route",
    "fallback_from_route",
    "service_tier",
    "status",
    "outcome",
)
INT_FIELDS = (
    "attempt",
    "prompt_tokens",
    "cached_prompt_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "retries",
    "latency_ms",
)
TS_FIELDS = ("emitted_at", "occurred_at")
ENUMS = {
    "service_tier": {"standard", "batch", "flex", "priority"},
    "status": {
        "in_progress",
        "success",
        "error",
        "timeout",
        "rate_limited",
        "invalid_output",
        "cancelled",
    },
    "outcome": {"accepted", "rejected", "failed", "abandoned"},
}
COLUMNS = (
    "event_id",
    "emitted_at",
    "occurred_at",
    "customer_id",
    "task_id",
    "parent_event_id",
    "attempt",
    "provider",
    "model",
    "service_tier",
    "prompt_tokens",
    "cached_prompt_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "status",
)
PRICE_CHUNK = 500_000
MAX_TOKENS = 10_000_000  # the contract's maximum of every token count


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


def _int(v, numbers_as_text: bool):
    """(ok, value) for a whole-number field."""
    if v is None:
        return True, None
    if numbers_as_text:
        # the contract: digits with an optional sign ("1.5", "1_000", "0x10" are not), in 64 bits
        text = str(v).strip()
        if not WHOLE_NUMBER.fullmatch(text) or not -(2**63) <= int(text) < 2**63:
            return False, None
        return True, int(text)
    if isinstance(v, bool):
        return False, None
    if isinstance(v, int):
        return True, v
    if isinstance(v, float) and math.isfinite(v) and v == math.floor(v):
        return True, int(v)
    return False, None


def check_record(rec, numbers_as_text: bool):
    """The contract's record rules; returns the normalised row or None (quarantined)."""
    if not isinstance(rec, dict):
        return None
    for f in STRING_FIELDS:
        if not (rec.get(f) is None or isinstance(rec.get(f), str)):
            return None
    for f in ("event_id", "occurred_at", "provider", "model"):
        if _blank(rec.get(f)):
            return None
    for f in TS_FIELDS:
        if not (rec.get(f) is None or isinstance(rec.get(f), str)):
            return None
    ints = {}
    for f in INT_FIELDS:
        ok, value = _int(rec.get(f), numbers_as_text)
        if not ok:
            return None
        if value is not None and value < (1 if f == "attempt" else 0):
            return None
        if value is not None and f.endswith("_tokens") and value > MAX_TOKENS:
            return None
        ints[f] = value
    for f, allowed in ENUMS.items():
        v = rec.get(f)
        if isinstance(v, str) and v.strip().lower() not in allowed:
            return None
    prompt, completion = ints["prompt_tokens"], ints["completion_tokens"]
    if (
        prompt is not None
        and (ints["cached_prompt_tokens"] or 0) + (ints["cache_write_tokens"] or 0) > prompt
    ):
        return None
    if (
        ints["reasoning_tokens"] is not None
        and completion is not None
        and ints["reasoning_tokens"] > completion
    ):
        return None
    status = (rec.get("status") or "success").strip().lower() or "success"
    if status != "in_progress" and (prompt is None or completion is None):
        return None
    if rec.get("parent_event_id") is None and (ints["attempt"] or 1) == 1:
        if any(_blank(rec.get(f)) for f in ("customer_id", "workspace_id", "feature")):
            return None

    def tag(f):
        v = rec.get(f)
        return v.strip() or None if isinstance(v, str) else None

    tier = rec.get("service_tier")
    return (
        rec["event_id"].strip(),
        rec.get("emitted_at"),
        rec["occurred_at"],
        tag("customer_id"),
        tag("task_id"),
        tag("parent_event_id"),
        ints["attempt"],
        rec["provider"].strip().lower(),
        rec["model"].strip(),
        (tier.strip().lower() if isinstance(tier, str) and tier.strip() else "standard"),
        prompt or 0,
        ints["cached_prompt_tokens"] or 0,
        ints["cache_write_tokens"] or 0,
        completion or 0,
        ints["reasoning_tokens"] or 0,
        status,
    )


def _records(path: Path):
    """(records, numbers_as_text) of one landing file."""
    name = path.name.lower()
    if name.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")):
        opener = gzip.open if name.endswith(".gz") else open
        out = []
        with opener(path, "rb") as handle:
            for line in handle:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue  # bad JSON, empty line, undecodable bytes: quarantined
        return out, False
    if name.endswith((".csv", ".csv.gz")):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            out = [
                {k: (v if v != "" else None) for k, v in zip(header, row, strict=True)}
                for row in reader
                if len(row) == len(header)  # a row with the wrong cell count is quarantined
            ]
        return out, True
    if name.endswith(".parquet"):
        return pq.read_table(path).to_pylist(), False
    return [], False


def _timestamps(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.str.strip(), utc=True, format="ISO8601", errors="coerce")


def load_calls(landing: Path, now: datetime) -> pd.DataFrame:
    frames = []
    latest = pd.Timestamp(now + timedelta(hours=24))
    earliest = pd.Timestamp("2015-01-01", tz="UTC")
    for path in sorted(p for p in landing.glob("*") if p.is_file() and p.name[0] not in "._"):
        records, numbers_as_text = _records(path)
        rows = [r for r in (check_record(rec, numbers_as_text) for rec in records) if r]
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        ok = pd.Series(True, index=frame.index)
        for f in TS_FIELDS:
            text = frame[f].astype("string")
            parsed = _timestamps(text)
            given = text.notna() & (text.str.strip() != "")
            ok &= ~given | (parsed.notna() & (parsed >= earliest) & (parsed <= latest))
            frame[f] = parsed
        frame = frame[ok].copy()
        frame["source_file"] = path.name
        frames.append(frame)
    calls = pd.concat(frames, ignore_index=True)
    calls["emitted_at"] = calls["emitted_at"].fillna(calls["occurred_at"])
    calls["in_progress"] = calls["status"] == "in_progress"
    calls = calls.sort_values(
        ["event_id", "emitted_at", "in_progress", "source_file"],
        ascending=[True, False, True, True],
    ).drop_duplicates("event_id", keep="first")
    occurred = calls["occurred_at"].dt.tz_convert("UTC").dt.tz_localize(None)
    calls["occurred_at"] = occurred
    calls["event_date"] = occurred.dt.normalize()
    calls["second_of_day"] = (occurred - calls["event_date"]).dt.total_seconds()
    return calls.reset_index(drop=True)


def load_rules(path: Path) -> pd.DataFrame:
    rules = pd.read_json(path, lines=True, dtype=False, compression="gzip")

    def seconds(col):
        text = rules[col].astype("string")
        return (
            text.str[0:2].astype("Float64") * 3600
            + text.str[3:5].astype("Float64") * 60
            + text.str[6:8].astype("Float64")
        )

    rules["tod_start_second"] = seconds("tod_start")
    rules["tod_end_second"] = seconds("tod_end")
    rules["valid_from"] = pd.to_datetime(rules["valid_from"])
    rules["usd_per_unit"] = rules["usd_per_unit"].astype(float)
    rules["tier_start"] = rules["tier_start"].astype("Float64")
    return rules[
        [
            "provider_id",
            "model_id",
            "rule_kind",
            "rule_rank",
            "context_key",
            "context_value",
            "valid_from",
            "tod_start_second",
            "tod_end_second",
            "price_key",
            "usage_key",
            "tier_start",
            "usd_per_unit",
        ]
    ]


def _unit_prices(chunk: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    m = chunk[
        [
            "event_id",
            "price_provider_id",
            "price_model_id",
            "event_date",
            "second_of_day",
            "prompt_tokens",
            "context_key",
            "context_value",
            "is_context_priced",
        ]
    ].merge(
        rules,
        left_on=["price_provider_id", "price_model_id"],
        right_on=["provider_id", "model_id"],
        suffixes=("", "_rule"),
    )
    start, end, sec = m["tod_start_second"], m["tod_end_second"], m["second_of_day"]
    in_window = (
        start.isna()
        | ((start <= end) & (sec >= start) & (sec < end)).fillna(False)
        | ((start > end) & ((sec >= start) | (sec < end))).fillna(False)
    )
    started = m["valid_from"].isna() | (m["event_date"] >= m["valid_from"])
    context = (m["rule_kind"] == "standard") | (
        (m["context_key_rule"] == m["context_key"])
        & (m["context_value_rule"] == m["context_value"])
        & m["is_context_priced"]
    )
    m = m[in_window & started & context.fillna(False)].copy()
    std = m["rule_rank"].where(m["rule_kind"] == "standard")
    var = m["rule_rank"].where(m["rule_kind"] == "variant")
    m["standard_rank"] = std.groupby(m["event_id"]).transform("max")
    m["variant_rank"] = var.groupby([m["event_id"], m["price_key"]]).transform("min")
    keep = (
        (m["rule_kind"] == "variant") & (m["rule_rank"] == m["variant_rank"])
        | (m["rule_kind"] == "standard")
        & (m["rule_rank"] == m["standard_rank"])
        & m["variant_rank"].isna()
    ) & (m["tier_start"].isna() | (m["prompt_tokens"] > m["tier_start"])).astype(bool)
    m = m[keep.astype(bool)]
    m = m.assign(tier_order=m["tier_start"].fillna(-1)).sort_values(
        ["event_id", "price_key", "tier_order"], ascending=[True, True, False]
    )
    m = m.drop_duplicates(["event_id", "price_key"], keep="first")
    return m.pivot_table(
        index="event_id", columns="usage_key", values="usd_per_unit", aggfunc="max"
    )


def price(calls: pd.DataFrame, rules: pd.DataFrame, resolutions: pd.DataFrame) -> pd.Series:
    calls = calls.merge(
        resolutions,
        how="left",
        left_on=["provider", "model"],
        right_on=["raw_provider", "raw_model"],
    )
    calls["is_context_priced"] = calls["is_context_priced"].fillna(True).astype(bool)
    tier = calls["service_tier"]
    calls["context_key"] = np.select(
        [tier == "batch", tier.isin(["flex", "priority"])], ["processing", "service_tier"], None
    )
    calls["context_value"] = np.select(
        [tier == "batch", tier.isin(["flex", "priority"])], ["batch", tier], None
    )
    parts = [
        _unit_prices(calls.iloc[i : i + PRICE_CHUNK], rules)
        for i in range(0, len(calls), PRICE_CHUNK)
    ]
    prices = pd.concat(parts) if parts else pd.DataFrame()
    p = calls[["event_id"]].join(prices, on="event_id")

    def col(name):
        return p[name] if name in p else pd.Series(np.nan, index=p.index)

    inp, cr, cw, out, rea, req = (
        col(n)
        for n in (
            "input_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "output_tokens",
            "output_reasoning_tokens",
            "requests",
        )
    )
    uncached = (
        calls["prompt_tokens"]
        - calls["cached_prompt_tokens"].where(cr.notna(), 0)
        - calls["cache_write_tokens"].where(cw.notna(), 0)
    )
    billed_out = calls["completion_tokens"] - calls["reasoning_tokens"].where(rea.notna(), 0)
    cost = (
        (uncached * inp).fillna(0) / 1e6
        + (calls["cached_prompt_tokens"] * cr).fillna(0) / 1e6
        + (calls["cache_write_tokens"] * cw).fillna(0) / 1e6
        + (billed_out * out).fillna(0) / 1e6
        + (calls["reasoning_tokens"] * rea).fillna(0) / 1e6
        + req.fillna(0) / 1000
    )
    return cost.where(inp.notna() | out.notna())


def task_keys(calls: pd.DataFrame) -> pd.Series:
    """Each call's task: task_id, else the first attempt of its parent_event_id chain (followed at
    most MAX_CHAIN_DEPTH deep; deeper or circular links leave the call its own task)."""
    known = pd.Index(calls["event_id"])
    parent = calls["parent_event_id"].where(
        calls["task_id"].isna() & calls["parent_event_id"].isin(known)
    )
    parent_of = pd.Series(parent.to_numpy(), index=calls["event_id"].to_numpy())
    root = pd.Series(calls["event_id"].to_numpy(), index=calls["event_id"].to_numpy())
    pending = parent_of.dropna()  # event -> current ancestor
    for _ in range(MAX_CHAIN_DEPTH):
        if pending.empty:
            break
        grand = parent_of.reindex(pending.to_numpy()).to_numpy()
        done = pd.isna(grand)
        root.loc[pending.index[done]] = pending.to_numpy()[done]
        pending = pd.Series(grand[~done], index=pending.index[~done])
    task_of = pd.Series(
        calls["task_id"].fillna(calls["event_id"]).to_numpy(), index=calls["event_id"].to_numpy()
    )
    # the root's task_id (or its own id when it has none)
    return pd.Series(task_of.reindex(root.to_numpy()).to_numpy(), index=calls.index)


def run(data_dir: Path, resolutions: Path, now: datetime | None = None) -> T.Totals:
    now = now or datetime.now(UTC)
    calls = load_calls(data_dir / "landing" / "usage_events", now)
    rules = load_rules(rules_file(data_dir))
    res = pd.read_parquet(resolutions)
    calls["cost_usd"] = price(calls, rules, res).to_numpy()
    calls["task_key"] = task_keys(calls).to_numpy()
    ordered = calls.assign(attempt_order=calls["attempt"].fillna(1)).sort_values(
        ["task_key", "occurred_at", "attempt_order", "event_id"]
    )
    first_customer = ordered.drop_duplicates("task_key").set_index("task_key")["customer_id"]
    calls["task_customer"] = (
        calls["task_key"].map(first_customer).fillna(calls["customer_id"]).astype(object)
    )
    calls["task_customer"] = calls["task_customer"].where(calls["task_customer"].notna(), None)
    tasks = calls.groupby("task_key")["cost_usd"].sum(min_count=1)
    days = calls.groupby(["task_customer", "event_date"], dropna=False)["cost_usd"].sum()
    return T.Totals(
        calls=len(calls),
        priced_calls=int(calls["cost_usd"].notna().sum()),
        cost_usd=float(calls["cost_usd"].sum()),
        tasks=len(tasks),
        task_cost_usd=float(tasks.sum()),
        customer_days={
            T.customer_day_key(None if pd.isna(c) else c, d.date()): float(v)
            for (c, d), v in days.items()
        },
    )


def main(argv: list[str]) -> int:
    data_dir, resolutions, out = (Path(a) for a in argv[:3])
    T.dump(run(data_dir, resolutions), out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
