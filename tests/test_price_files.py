"""Pricing files in: LiteLLM and negotiated sheets become price rules; bad files say why and where."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from orchestration.pricing.sheets import PriceFileError, litellm_rules, negotiated_rules


def test_litellm_keys_become_rules_with_tiers_batches_and_exact_decimals():
    text = json.dumps(
        {
            "sample_spec": {"input_cost_per_token": 0.0, "litellm_provider": "openai"},
            "gemini/gemini-2.5-pro": {
                "litellm_provider": "gemini",
                "input_cost_per_token": 1.25e-06,
                "input_cost_per_token_above_200k_tokens": 2.5e-06,
                "output_cost_per_token": 1e-05,
                "cache_read_input_token_cost": 3.1e-07,
                "input_cost_per_token_batches": 6.25e-07,
                "output_cost_per_reasoning_token": 1.2e-05,
                "max_tokens": 65535,
                "mode": "chat",
            },
            "gpt-4o": {"litellm_provider": "openai", "input_cost_per_request": 0.012},
        }
    )
    rules = {
        (r["model_id"], r["price_key"], r["tier_start"], r["context_value"]): r
        for r in litellm_rules(text, file_name="prices.json", version="v1")
    }
    assert rules[("gemini-2.5-pro", "input_mtok", None, None)]["usd_per_unit"] == "1.25"
    assert rules[("gemini-2.5-pro", "input_mtok", 200000, None)]["usd_per_unit"] == "2.5"
    assert rules[("gemini-2.5-pro", "input_mtok", None, "batch")]["usd_per_unit"] == "0.625"
    assert rules[("gemini-2.5-pro", "cache_read_mtok", None, None)]["usd_per_unit"] == "0.31"
    assert rules[("gemini-2.5-pro", "output_reasoning_mtok", None, None)]["usd_per_unit"] == "12"
    assert rules[("gemini-2.5-pro", "input_mtok", None, None)]["provider_id"] == "google"
    fee = rules[("gpt-4o", "requests_kcount", None, None)]
    assert (Decimal(fee["usd_per_unit"]), fee["unit_per"]) == (Decimal("12"), 1000)
    assert not any(model == "sample_spec" for model, *_ in rules)


def test_negotiated_sheet_rows_become_period_rules():
    text = (
        "provider,model,component,usd_per_million_tokens,valid_from,valid_to,service_tier\n"
        "OpenAI,gpt-4o,input,2.00,2026-01-01,2026-07-01,\n"
        "anthropic,claude-sonnet-4-0,cache_read,0.25,2026-01-01,,batch\n"
    )
    first, second = negotiated_rules(text, file_name="deal.csv", version="v1")
    assert (first["provider_id"], first["price_key"], first["usd_per_unit"]) == (
        "openai",
        "input_mtok",
        "2",
    )
    assert (first["valid_from"], first["valid_to"], first["context_key"]) == (
        "2026-01-01",
        "2026-07-01",
        None,
    )
    assert (second["context_key"], second["context_value"], second["valid_to"]) == (
        "processing",
        "batch",
        None,
    )


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("openai,gpt-4o,inptu,2.0,2026-01-01,", "line 2: component 'inptu'"),
        ("openai,gpt-4o,input,two,2026-01-01,", "line 2: 'two' is not a number"),
        ("openai,gpt-4o,input,-1,2026-01-01,", "line 2: '-1' is not a price"),
        ("openai,gpt-4o,input,2.0,01/02/2026,", "line 2: valid_from '01/02/2026' is not a date"),
        (
            "openai,gpt-4o,input,2.0,2026-02-01,2026-01-01",
            "line 2: valid_to must be after valid_from",
        ),
        (",gpt-4o,input,2.0,2026-02-01,", "line 2: provider is empty"),
    ],
)
def test_a_bad_sheet_row_names_the_line_and_field(row, words):
    text = "provider,model,component,usd_per_million_tokens,valid_from,valid_to\n" + row + "\n"
    with pytest.raises(PriceFileError, match=words.replace("(", r"\(")):
        list(negotiated_rules(text, file_name="deal.csv", version="v1"))


def test_a_sheet_without_the_columns_says_which_are_missing():
    with pytest.raises(PriceFileError, match="missing columns valid_from, valid_to"):
        list(
            negotiated_rules(
                "provider,model,component,usd_per_million_tokens\n", file_name="x.csv", version="v"
            )
        )


def test_a_litellm_file_that_is_not_json_says_where():
    with pytest.raises(PriceFileError, match="prices.json: not JSON"):
        list(litellm_rules("{not json", file_name="prices.json", version="v"))


def test_a_bad_pricing_file_is_rejected_whole_and_a_good_one_loads_once(tmp_path):
    from orchestration.ingest.pricing import load_pricing

    landing, lake = tmp_path / "landing", tmp_path / "lake"
    landing.mkdir()
    (landing / "good.csv").write_text(
        "provider,model,component,usd_per_million_tokens,valid_from,valid_to\n"
        "openai,gpt-4o,input,2.0,2026-01-01,\n"
    )
    (landing / "bad.csv").write_text(
        "provider,model,component,usd_per_million_tokens,valid_from,valid_to\n"
        "openai,gpt-4o,input,2.0,2026-01-01,\nopenai,gpt-4o,output,x,2026-01-01,\n"
    )
    (landing / "notes.txt").write_text("hello")
    results = {r.source_file: r for r in load_pricing(landing, lake)}
    assert results["good.csv"].status == "loaded" and results["good.csv"].rules_loaded == 1
    assert results["bad.csv"].status == "failed"
    assert "line 3" in results["bad.csv"].problems[0]
    assert results["notes.txt"].status == "unsupported"
    assert len(list((lake / "prices" / "rules").glob("*.parquet"))) == 1
    again = {r.source_file: r.status for r in load_pricing(landing, lake)}
    assert again["good.csv"] == "already_loaded"
