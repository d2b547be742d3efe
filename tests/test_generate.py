"""The sample data generator: deterministic, realistic, and honest about what it planted."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import json
from collections import Counter
from pathlib import Path

import genai_prices
import pyarrow.parquet as pq
import pytest

from orchestration.contract import fields
from sample_data import FAULTS, LandingNotEmptyError, generate
from sample_data import catalog as cat

SMALL = {"events": 3000, "days": 5, "customers": 6}
PROJECT_ROOT = Path(__file__).resolve().parents[1]
REAL_TRACES = PROJECT_ROOT.parent / "shared" / "datasets"
INT_FIELDS = {f.name for f in fields() if f.kind == "integer"}
BAD = "<unparsable>"


def _run(directory: Path, seed: int = 7, **overrides) -> Path:
    params = {**SMALL, **overrides}
    params.setdefault("traces_dir", directory.parent / "no-traces-here")
    generate(directory, seed=seed, progress=False, **params)
    return directory


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("gen") / "data")


@pytest.fixture(scope="module")
def summary(data: Path) -> dict:
    return json.loads((data / "truth" / "summary.json").read_text())


@pytest.fixture(scope="module")
def truth_events(data: Path) -> list[dict]:
    return pq.read_table(data / "truth" / "events.parquet").to_pylist()


@pytest.fixture(scope="module")
def tasks(data: Path) -> list[dict]:
    return pq.read_table(data / "truth" / "tasks.parquet").to_pylist()


def _read_usage_file(path: Path) -> list[dict | str]:
    """Records of one landing file in order; unparsable rows as a marker string."""
    name = path.name
    if name.endswith(".parquet"):
        return pq.read_table(path).to_pylist()
    raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    text = raw.decode("utf-8")
    assert text.endswith("\n")
    if name.endswith(".csv"):
        rows = list(csv.reader(text.splitlines()))
        header, out = rows[0], []
        for cells in rows[1:]:
            if len(cells) != len(header):
                out.append(BAD)
                continue
            record: dict = {}
            for key, cell in zip(header, cells, strict=True):
                if cell == "":
                    record[key] = None
                elif key in INT_FIELDS:
                    record[key] = int(cell) if cell.lstrip("-").isdigit() else cell
                else:
                    record[key] = cell
            out.append(record)
        return out
    out = []
    for line in text.split("\n")[:-1]:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            out.append(BAD)
    return out


@pytest.fixture(scope="module")
def landed(data: Path) -> dict[str, list]:
    folder = data / "landing" / "usage_events"
    return {p.name: _read_usage_file(p) for p in sorted(folder.iterdir())}


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _problems(record: dict) -> list[str]:
    """What a strict reader would reject in one parsed record."""
    found = []
    spec = {f.name: f for f in fields()}
    for name in ("event_id", "occurred_at", "provider", "model"):
        if not record.get(name):
            found.append(f"missing {name}")
    for name, value in record.items():
        if value is None or name not in spec:
            continue
        f = spec[name]
        if f.kind == "integer" and (not isinstance(value, int) or value < 0):
            found.append(f"bad {name}")
        if f.enum and value not in f.enum:
            found.append(f"unknown {name}")
        if f.kind == "timestamp":
            try:
                moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                found.append(f"bad {name}")
                continue
            if moment.year > 2030:
                found.append(f"future {name}")
    if not found:
        prompt = record.get("prompt_tokens")
        cached = (record.get("cached_prompt_tokens") or 0) + (record.get("cache_write_tokens") or 0)
        if prompt is not None and cached > prompt:
            found.append("cache exceeds prompt")
        completion, reasoning = record.get("completion_tokens"), record.get("reasoning_tokens")
        if completion is not None and reasoning is not None and reasoning > completion:
            found.append("reasoning exceeds completion")
        status = record.get("status")
        if status not in (None, "in_progress") and (prompt is None or completion is None):
            found.append("final record without tokens")
        if record.get("attempt") == 1 and not record.get("customer_id"):
            found.append("first attempt without customer")
        if record.get("attempt") == 0:
            found.append("attempt 0")
    return found


# -- determinism --------------------------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes(data: Path, tmp_path: Path) -> None:
    again = _hashes(_run(tmp_path / "again"))
    assert again == _hashes(data)
    other = _hashes(_run(tmp_path / "other", seed=8))
    usage = [k for k in again if k.startswith("landing/usage_events/")]
    assert all(again[k] != other.get(k) for k in usage)


def test_refuses_a_landing_folder_that_already_has_files(data: Path) -> None:
    with pytest.raises(LandingNotEmptyError, match="already holds"):
        generate(data, progress=False, **SMALL)


# -- the truth agrees with the files ------------------------------------------------------------


def test_truth_has_one_row_per_written_line(landed: dict, truth_events: list[dict]) -> None:
    per_file = Counter(row["file"] for row in truth_events)
    assert per_file == {name: len(rows) for name, rows in landed.items()}
    by_position = {(row["file"], row["line"]): row for row in truth_events}
    for name, rows in landed.items():
        for line, record in enumerate(rows, 1):
            truth = by_position[(name, line)]
            if truth["kind"] != "malformed":
                assert isinstance(record, dict) and record["event_id"] == truth["event_id"]
                extra = bool(record.get("gateway_region") or record.get("request_tags"))
                assert extra == truth["has_extra_fields"], (name, line)


def test_exactly_the_planted_records_are_malformed(landed: dict, truth_events: list) -> None:
    by_position = {(row["file"], row["line"]): row for row in truth_events}
    for name, rows in landed.items():
        for line, record in enumerate(rows, 1):
            truth = by_position[(name, line)]
            if record == BAD:
                assert truth["kind"] == "malformed", (name, line)
                continue
            problems = _problems(record)
            assert bool(problems) == (truth["kind"] == "malformed"), (name, line, truth, problems)


def test_calls_count_distinct_valid_event_ids(summary: dict, truth_events: list) -> None:
    valid = {r["event_id"] for r in truth_events if r["kind"] != "malformed"}
    planted = {r["event_id"] for r in truth_events if r["kind"] == "malformed" and r["event_id"]}
    assert summary["calls"] == len(valid)
    assert not valid & planted  # a planted record's call is not a valid call
    assert summary["records"] == len(truth_events)


def test_summary_counts_match_truth_rows(summary: dict, truth_events: list, tasks: list) -> None:
    kinds = Counter(r["kind"] for r in truth_events)
    assert summary["records_by_kind"] == {k: kinds.get(k, 0) for k in summary["records_by_kind"]}
    assert summary["late_records"] == sum(r["is_late"] for r in truth_events)
    assert summary["extra_field_records"] == sum(r["has_extra_fields"] for r in truth_events)
    assert summary["tasks"] == len(tasks) == len({t["task_id"] for t in tasks})


# -- realism ------------------------------------------------------------------------------------


def test_shares_are_within_stated_bounds(summary: dict) -> None:
    records = summary["records"]
    assert 0.85 * SMALL["events"] <= records <= 1.15 * SMALL["events"]
    assert 0.005 <= summary["duplicates"] / records <= 0.02
    malformed = summary["records_by_kind"]["malformed"]
    assert 0.002 <= malformed / records <= 0.02
    assert [f for f in FAULTS if summary["malformed_by_fault"][f] == 0] == []
    assert 0.01 <= summary["retry_attempts"] / summary["tasks"] <= 0.3
    assert 0.003 <= summary["fallback_attempts"] / summary["tasks"] <= 0.2
    assert summary["streams"] > 0.1 * summary["calls"]
    assert summary["incomplete_streams"] >= 1
    assert summary["late_records"] > 0
    assert summary["extra_field_records"] > 0
    assert summary["tagless_attempts"] > 0
    assert summary["tasks_without_task_id"] > 0
    assert summary["runaway_tasks"] >= 1
    assert summary["trial_tasks"] >= 1
    assert len(summary["files_by_format"]) >= 3


def test_runaway_loops_are_long_and_in_few_workspaces(tasks: list) -> None:
    runaway = [t for t in tasks if t["is_runaway"]]
    assert runaway and all(20 <= t["attempts"] <= 60 for t in runaway)
    assert len({t["workspace_id"] for t in runaway}) <= 2
    assert max(t["attempts"] for t in tasks if not t["is_runaway"]) <= 8


def test_records_look_like_real_gateway_traffic(landed: dict, truth_events: list) -> None:
    valid = [
        r for rows in landed.values() for r in rows if isinstance(r, dict) and not _problems(r)
    ]
    providers = {r["provider"].lower() for r in valid}
    assert providers == set(cat.PROVIDERS)
    assert {r["status"] for r in valid} >= {"success", "in_progress", "error", "rate_limited"}
    assert any(r.get("service_tier") == "batch" for r in valid)
    assert any((r.get("cached_prompt_tokens") or 0) > 0 for r in valid)
    assert any((r.get("cache_write_tokens") or 0) > 0 for r in valid)
    assert any((r.get("reasoning_tokens") or 0) > 0 for r in valid)
    assert any(r["occurred_at"].endswith("Z") for r in valid)
    assert any(r["occurred_at"][-6] in "+-" for r in valid)
    assert any("gateway_region" in r and r["gateway_region"] for r in valid)
    ids = {r["event_id"] for r in truth_events if r["event_id"]}
    for r in valid:
        if r.get("attempt") and r["attempt"] > 1:
            assert r["parent_event_id"] in ids
        if r.get("fallback_from_route"):
            assert r["fallback_from_route"] != r["route"]
    tagless_later = [r for r in valid if (r.get("attempt") or 1) > 1 and not r.get("customer_id")]
    assert tagless_later


def test_stream_pairs_share_an_event_id(truth_events: list) -> None:
    starts = {r["event_id"] for r in truth_events if r["kind"] == "stream_start"}
    finals = {r["event_id"] for r in truth_events if r["kind"] == "stream_final"}
    incomplete = {r["event_id"] for r in truth_events if r["is_incomplete_stream"]}
    assert finals <= starts
    assert starts - finals == incomplete


def test_model_names_are_priced_by_genai_prices() -> None:
    for model in cat.MODELS:
        usage = genai_prices.Usage(input_tokens=1000, output_tokens=1000)
        price = genai_prices.calc_price(usage, model.name, provider_id=model.provider)
        assert price.total_price > 0, model.name


# -- billing and provider invoices --------------------------------------------------------------


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_billing_exports_are_consistent(data: Path, summary: dict, landed: dict) -> None:
    billing = data / "landing" / "billing"
    plans = {r["plan_id"] for r in _csv(billing / "plans.csv")}
    customers = {r["customer_id"]: r for r in _csv(billing / "customers.csv")}
    workspaces = _csv(billing / "workspaces.csv")
    invoices = _csv(billing / "invoices.csv")
    assert len(customers) == SMALL["customers"]
    assert {c["plan_id"] for c in customers.values()} <= plans
    assert all(w["customer_id"] in customers for w in workspaces)
    assert any(w["monthly_hard_cap_usd"] == "" for w in workspaces)
    assert all(i["customer_id"] in customers and i["plan_id"] in plans for i in invoices)
    assert {i["status"] for i in invoices} <= {"paid", "open", "void"}
    assert sum(i["status"] == "void" for i in invoices) >= 1
    change = summary["parameters"]["plan_change"]
    month = change["on"][:7]
    both = {
        i["plan_id"]
        for i in invoices
        if i["customer_id"] == change["customer_id"] and i["invoice_month"] == month
    }
    assert both == {change["from_plan"], change["to_plan"]}
    trial_customer = summary["parameters"]["trial_customer_id"]
    trial_workspace = summary["parameters"]["trial_workspace_id"]
    assert trial_customer not in customers
    assert trial_workspace not in {w["workspace_id"] for w in workspaces}
    used = [
        r
        for rows in landed.values()
        for r in rows
        if isinstance(r, dict) and r.get("customer_id") == trial_customer
    ]
    assert 1 <= len(used) <= 60


def test_provider_invoices_are_close_to_computed_cost_where_nothing_was_planted(data: Path) -> None:
    folder = data / "landing" / "provider_invoices"
    rows = [r for p in sorted(folder.iterdir()) for r in _csv(p)]
    assert {r["provider"] for r in rows} == set(cat.PROVIDERS)
    assert all(r["currency"] == "USD" for r in rows)
    costs = pq.read_table(data / "truth" / "provider_costs.parquet").to_pylist()
    clean = [c for c in costs if c["planted"] is None]
    computed = sum(c["computed_usd"] for c in clean)
    billed = sum(c["billed_usd"] for c in clean)
    assert computed > 0 and abs(billed - computed) / computed < 0.03
    assert sum(float(r["amount_usd"]) for r in rows) == pytest.approx(
        sum(c["billed_usd"] for c in costs)
    )


def test_each_provider_month_carries_its_planted_difference(data: Path) -> None:
    costs = pq.read_table(data / "truth" / "provider_costs.parquet").to_pylist()
    by_month: dict[tuple, list[dict]] = {}
    for c in costs:
        by_month.setdefault((c["provider"], c["invoice_month"]), []).append(c)
    seen = set()
    for lines in by_month.values():
        plant = lines[0]["planted"]
        seen.add(plant)
        assert all(line["planted"] == plant for line in lines)
        computed = sum(line["computed_usd"] for line in lines)
        billed = sum(line["billed_usd"] for line in lines)
        requests = sum(line["requests"] for line in lines)
        billed_requests = sum(line["billed_requests"] for line in lines)
        unknown = [line for line in lines if line["computed_usd"] == 0]
        if plant == "unpriced_model":
            assert len(unknown) == 1 and unknown[0]["model"].endswith("-private-preview")
            assert unknown[0]["billed_usd"] >= 0.04 * computed
        else:
            assert not unknown
        if plant == "missing_events":
            assert billed_requests > requests * 1.04 and billed > computed * 1.04
        elif plant == "price_drift":
            assert billed_requests == requests and billed > computed * 1.025
        elif plant is None:
            assert billed_requests == requests and abs(billed / computed - 1) < 0.02
    assert seen == {"unpriced_model", "missing_events", "price_drift", None}


# -- traces -------------------------------------------------------------------------------------


def test_works_without_traces(summary: dict) -> None:
    assert summary["parameters"]["traces"] == []


@pytest.mark.skipif(not REAL_TRACES.is_dir(), reason="../shared/datasets is not present")
def test_uses_the_real_traces_when_present(tmp_path: Path) -> None:
    root = _run(tmp_path / "traced", events=1500, days=3, traces_dir=REAL_TRACES)
    used = json.loads((root / "truth" / "summary.json").read_text())["parameters"]["traces"]
    assert any("mooncake" in name for name in used)
    assert any("Azure" in name for name in used)
