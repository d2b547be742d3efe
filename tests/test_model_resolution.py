"""lake/model_resolution/resolution.parquet: rewritten only when what it says changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.pricing.resolution import write_resolution

FIRST = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def _land(lake, day: str, pairs: list[tuple[str, str]]) -> None:
    folder = lake / "usage_events" / f"event_date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"provider": [p for p, _ in pairs], "model": [m for _, m in pairs]})
    pq.write_table(table, folder / "part-0.parquet")


def _resolved_at(path) -> set:
    return set(pq.read_table(path).column("resolved_at").to_pylist())


def test_a_run_over_the_same_lake_leaves_the_file_as_it_was(tmp_path):
    lake = tmp_path / "lake"
    _land(lake, "2026-11-01", [("openai", "gpt-4o"), ("openai", "gpt-4o"), ("acme", "nope-1")])
    path, pairs, unresolved = write_resolution(lake, now=FIRST)
    assert (pairs, unresolved) == (2, 1)
    written = path.read_bytes()

    # same lake, a day later: nothing to say that the file does not say already
    assert write_resolution(lake, now=LATER) == (path, 2, 1)
    assert path.read_bytes() == written
    assert _resolved_at(path) == {FIRST}

    # a new call of a known pair changes calls_seen: rewritten, stamped with the new time
    _land(lake, "2026-11-02", [("openai", "gpt-4o")])
    write_resolution(lake, now=LATER)
    table = pq.read_table(path).to_pylist()
    assert {(r["raw_provider"], r["raw_model"], r["calls_seen"]) for r in table} == {
        ("openai", "gpt-4o", 3),
        ("acme", "nope-1", 1),
    }
    assert _resolved_at(path) == {LATER}


def test_an_unreadable_file_is_replaced(tmp_path):
    lake = tmp_path / "lake"
    _land(lake, "2026-11-01", [("openai", "gpt-4o")])
    target = lake / "model_resolution" / "resolution.parquet"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not parquet")
    write_resolution(lake, now=FIRST)
    assert [r["raw_model"] for r in pq.read_table(target).to_pylist()] == ["gpt-4o"]


def test_pairs_only_the_plan_calculator_uses_are_resolved_with_no_calls(tmp_path):
    lake = tmp_path / "lake"
    _land(lake, "2026-11-01", [("openai", "gpt-4o"), ("openai", "gpt-4o")])
    shapes = lake / "plan_shapes"
    shapes.mkdir(parents=True)
    table = pa.table(
        {
            "provider": ["OpenAI ", "openai", "anthropic"],
            "model": ["gpt-4o", " gpt-4o-mini", "claude-3-5-haiku-20241022"],
        }
    )
    pq.write_table(table, shapes / "call_shapes.parquet")
    path, pairs, unresolved = write_resolution(lake, now=FIRST)
    assert (pairs, unresolved) == (3, 0)
    rows = {(r["raw_provider"], r["raw_model"]): r for r in pq.read_table(path).to_pylist()}
    assert {pair: row["calls_seen"] for pair, row in rows.items()} == {
        ("openai", "gpt-4o"): 2,
        ("openai", "gpt-4o-mini"): 0,
        ("anthropic", "claude-3-5-haiku-20241022"): 0,
    }
    assert rows[("anthropic", "claude-3-5-haiku-20241022")]["price_provider_id"] == "anthropic"
