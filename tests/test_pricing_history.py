"""Price history: a newer export with future changes restates nothing; a correction of a past price
restates exactly the affected calls and reports before, after and delta per customer and month;
negotiated sheets beat LiteLLM files, which beat the catalog."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import duckdb
import pytest

from orchestration import cli
from orchestration.paths import DataPaths
from orchestration.pricing.catalog import export_catalog


def _call(i: int, customer: str, model: str, day: str, prompt: int, completion: int) -> dict:
    return {
        "event_id": f"h-{i}",
        "occurred_at": f"{day}T12:00:00Z",
        "customer_id": customer,
        "workspace_id": f"ws-{customer}",
        "feature": "chat",
        "provider": "openai",
        "model": model,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "status": "success",
    }


CALLS = [
    _call(1, "acme", "gpt-4o", "2026-10-20", 10_000, 1_000),
    _call(2, "acme", "gpt-4o", "2026-11-03", 20_000, 2_000),
    _call(3, "beta", "gpt-4o", "2026-11-10", 40_000, 500),
    _call(4, "beta", "gpt-4o-mini", "2026-11-10", 100_000, 9_000),
]


def _costs(paths: DataPaths) -> dict[str, tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return {
            r[0]: r[1:]
            for r in con.execute(
                "select event_id, cost_usd, price_source from marts.fct_llm_calls"
            ).fetchall()
        }


def _restatements(paths: DataPaths) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(
            "select customer_id, strftime(month, '%Y-%m'), calls_restated, cost_before_usd, cost_after_usd, "
            "delta_usd from marts.mart_price_restatements order by 1, 2"
        ).fetchall()


@pytest.fixture(scope="module")
def history(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("history") / "data"
    mp = pytest.MonkeyPatch()
    request.addfinalizer(mp.undo)
    mp.setenv("LLM_MARGIN_DATA_DIR", str(root))
    paths = DataPaths(root).ensure()
    (paths.landing_for("usage_events") / "calls.jsonl").write_text(
        "\n".join(json.dumps(c) for c in CALLS) + "\n"
    )
    return paths


def test_first_build_prices_from_the_catalog(history):
    assert cli.main(["materialize", "--log-level", "ERROR"]) == 0
    costs = _costs(history)
    # gpt-4o standard: $2.5 in, $10 out per million tokens
    assert costs["h-1"] == (Decimal("0.035"), "genai-prices")
    assert _restatements(history) == []


def test_a_newer_export_with_future_changes_restates_nothing(history):
    before = _costs(history)
    catalog, _, _ = export_catalog(history.landing_for("pricing"))
    with gzip.open(catalog, "rt") as handle:
        rules = [json.loads(line) for line in handle]
    gpt4o = [
        r
        for r in rules
        if r["provider_id"] == "openai"
        and r["model_id"] == "gpt-4o"
        and r["rule_kind"] == "standard"
    ]
    next_rank = max(r["rule_rank"] for r in gpt4o) + 1
    future = [
        {**r, "rule_rank": next_rank, "valid_from": "2027-06-01", "usd_per_unit": "1"}
        for r in gpt4o
        if r["rule_rank"] == 0
    ]
    newer = history.landing_for("pricing") / "genai-prices-0.2.3+future.rules.jsonl.gz"
    with gzip.GzipFile(newer, "wb", mtime=0) as handle:
        for r in rules + future:
            handle.write((json.dumps({**r, "export_version": "0.2.3+future"}) + "\n").encode())
    assert cli.main(["materialize", "--log-level", "ERROR"]) == 0
    after = _costs(history)
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}
    assert _restatements(history) == []


def test_a_correction_of_a_past_price_restates_and_reports_the_delta(history):
    before = _costs(history)
    (history.landing_for("pricing") / "negotiated-2026-11.csv").write_text(
        "provider,model,component,usd_per_million_tokens,valid_from,valid_to\n"
        "openai,gpt-4o,input,2.00,2026-11-01,\n"
    )
    assert cli.main(["materialize", "--log-level", "ERROR"]) == 0
    after = _costs(history)
    # Only the November gpt-4o calls change: input 2.5 -> 2.0 per million tokens.
    assert after["h-1"] == before["h-1"]
    assert after["h-4"] == before["h-4"]
    assert after["h-2"][0] == before["h-2"][0] - Decimal("0.01")
    assert after["h-2"][1] == "mixed"  # input from the sheet, output from the catalog
    assert after["h-3"][0] == before["h-3"][0] - Decimal("0.02")
    assert _restatements(history) == [
        ("acme", "2026-11", 1, before["h-2"][0], after["h-2"][0], Decimal("-0.01")),
        ("beta", "2026-11", 1, before["h-3"][0], after["h-3"][0], Decimal("-0.02")),
    ]


def test_negotiated_beats_litellm_which_beats_the_catalog(history):
    before = _costs(history)
    (history.landing_for("pricing") / "model_prices_and_context_window.json").write_text(
        json.dumps(
            {
                "sample_spec": {"input_cost_per_token": 0},
                "gpt-4o": {
                    "litellm_provider": "openai",
                    "input_cost_per_token": 3e-06,
                    "output_cost_per_token": 1.2e-05,
                },
                "gpt-4o-mini": {
                    "litellm_provider": "openai",
                    "input_cost_per_token": 1e-07,
                    "output_cost_per_token": 5e-07,
                },
            }
        )
    )
    assert cli.main(["materialize", "--log-level", "ERROR"]) == 0
    after = _costs(history)
    # gpt-4o-mini: LiteLLM now prices it: 100k x 0.1 + 9k x 0.5 per million
    assert after["h-4"] == (Decimal("0.0145"), "litellm")
    # gpt-4o in November: input still from the negotiated sheet (2.0), output now LiteLLM's 12
    assert after["h-2"][0] == Decimal("0.064")  # 20k x 2.0 + 2k x 12 per million
    # October gpt-4o: no sheet in force, LiteLLM beats the catalog: 10k x 3 + 1k x 12
    assert after["h-1"] == (Decimal("0.042"), "litellm")
    assert before["h-1"] != after["h-1"]
