"""The benchmark harness cannot rot: its agreement check fails when a total differs, and its
stage accounting adds up to the wall time it measured. (The three implementations agreeing on a
generated set is tested in test_end_to_end.py, on the data set that module already builds.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from bench import harness as H
from bench import totals as T


def _totals(**overrides) -> T.Totals:
    base = dict(
        calls=10,
        priced_calls=9,
        cost_usd=12.5,
        tasks=7,
        task_cost_usd=12.5,
        customer_days={"cus_a|2026-07-01": 10.0, "cus_b|2026-07-01": 2.5},
    )
    return T.Totals(**{**base, **overrides})


def test_identical_totals_agree_and_float_noise_within_tolerance_is_accepted():
    ref = _totals()
    noisy = _totals(cost_usd=12.5 * (1 + 1e-9), task_cost_usd=12.5 - 1e-12)
    assert T.differences(ref, noisy, label="x") == []
    T.check_agree(ref, {"pandas": noisy})


@pytest.mark.parametrize(
    "override, needle",
    [
        ({"calls": 11}, "calls 11 != 10"),
        ({"tasks": 6}, "tasks 6 != 7"),
        ({"cost_usd": 12.5 * (1 + 1e-5)}, "cost_usd"),
        ({"task_cost_usd": 12.6}, "task_cost_usd"),
        ({"customer_days": {"cus_a|2026-07-01": 10.0, "cus_b|2026-07-01": 2.6}}, "customer-days"),
        ({"customer_days": {"cus_a|2026-07-01": 10.0}}, "1 of 2 customer-days differ"),
    ],
)
def test_any_differing_total_fails_loudly(override, needle):
    bad = _totals(**override)
    problems = T.differences(_totals(), bad, label="engine limit")
    assert any(needle in p and p.startswith("engine limit") for p in problems), problems
    with pytest.raises(T.TotalsMismatch, match="engine limit"):
        T.check_agree(_totals(), {"engine limit": bad})


def test_pipeline_stage_accounting_adds_up_to_the_measured_wall_time():
    sampler = H.MemorySampler()
    t0 = 1_000.0
    sampler.samples = [(t0 + i, (i % 7 + 1) * 1024**2) for i in range(0, 61)]
    outer = H.Stage("full pipeline", 60.0, t0, t0 + 60.0, None, "pipeline")
    worker = {
        "imported": t0 + 8.0,
        "steps": [
            {"step": "ingest_usage_events", "start": t0 + 9.0, "end": t0 + 19.0},
            {"step": "ingest_billing", "start": t0 + 19.5, "end": t0 + 21.0},
            {"step": "landing__pricing_catalog", "start": t0 + 21.0, "end": t0 + 22.0},
            {"step": "lake__price_rules", "start": t0 + 22.0, "end": t0 + 22.5},
            {"step": "llm_margin_dbt_assets", "start": t0 + 23.0, "end": t0 + 55.0},
            {"step": "marts__x_check", "start": t0 + 56.0, "end": t0 + 57.0},
            {"step": "never_finished"},  # a step without an end is not counted
        ],
        "dbt_nodes": [
            {"unique_id": "model.p.a", "seconds": 20.0},
            {"unique_id": "test.p.b", "seconds": 5.0},
            {"unique_id": "unit_test.p.c", "seconds": 1.0},
            {"unique_id": "operation.p.d", "seconds": 0.5},
        ],
    }
    stages, nodes = H.pipeline_stages(sampler, outer, worker, "pipeline")
    by_name = {s.name: s for s in stages}
    assert by_name["startup (imports, dbt manifest)"].seconds == pytest.approx(8.0)
    assert by_name["ingest usage events"].seconds == pytest.approx(10.0)
    assert by_name["pricing export/rules"].seconds == pytest.approx(1.5)
    assert by_name["dbt build"].seconds == pytest.approx(32.0)
    assert by_name["checks (Dagster asset checks)"].seconds == pytest.approx(1.0)
    # everything not in a step is orchestration overhead, so the parts sum to the wall time
    assert sum(s.seconds for s in stages) == pytest.approx(outer.seconds)
    assert by_name["orchestration overhead (Dagster run, step launch)"].seconds == pytest.approx(
        60.0 - 8.0 - 10.0 - 1.5 - 1.5 - 32.0 - 1.0
    )
    # each stage's peak is the highest sample inside its window
    assert by_name["dbt build"].peak_rss == max(
        rss for t, rss in sampler.samples if t0 + 23 <= t <= t0 + 55
    )
    assert [n["unique_id"] for n in nodes][0] == "model.p.a"
    assert H.dbt_split(nodes) == {"models": 20.0, "tests": 6.0, "other": 0.5}


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS sampling reads /proc")
def test_the_memory_sampler_sees_a_child_process_allocate():
    import subprocess
    import sys

    sampler = H.MemorySampler(interval=0.05)
    sampler.start()
    try:
        start = time.time()
        baseline = H.tree_rss(os.getpid())
        subprocess.run(
            [
                sys.executable,
                "-c",
                "b = bytearray(300 * 1024 * 1024); import time; time.sleep(0.5)",
            ],
            check=True,
        )
        end = time.time()
    finally:
        sampler.stop()
    assert sampler.peak(start, end) >= baseline + 250 * 1024**2


def test_dbt_nodes_are_reported_by_name():
    assert H.node_name("model.llm_margin.fct_tasks") == "fct_tasks"
    assert (
        H.node_name("test.llm_margin.unique_task_tag_conflicts_event_id.2b0f70c11d")
        == "unique_task_tag_conflicts_event_id"
    )
    assert H.node_name("unit_test.llm_margin.fct_tasks.test_x") == "test_x"


def test_the_worker_reads_its_own_runs_dbt_results_not_a_newer_one(tmp_path):
    """A test suite running dbt in the same checkout writes newer run_results.json files; the
    worker must take the one of its own Dagster run (dagster-dbt's <op>-<run id[:7]>-<uuid>)."""
    from bench.pipeline_worker import dbt_nodes

    def write(name: str, node: str) -> None:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "run_results.json").write_text(
            json.dumps({"results": [{"unique_id": node, "status": "success", "timing": []}]})
        )

    write("llm_margin_dbt_assets-abcdef1-1111111", "model.llm_margin.fct_tasks")
    time.sleep(0.01)
    write("llm_margin_dbt_assets-9999999-2222222", "model.llm_margin.other_process")
    path, nodes = dbt_nodes(tmp_path, 0, "abcdef1-0000-run-id")
    assert "abcdef1" in path and [n["unique_id"] for n in nodes] == ["model.llm_margin.fct_tasks"]
    # without a run id the newest wins (what the harness did before)
    assert dbt_nodes(tmp_path, 0)[1][0]["unique_id"] == "model.llm_margin.other_process"


def test_the_measuring_process_does_not_hold_dagster_while_it_samples(tmp_path):
    """The harness counts its own RSS in the process tree it samples: the pipeline's imports
    (Dagster, ~150 MiB) belong to the pipeline's processes, not to it."""
    probe = "import sys, bench.harness; print('dagster' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
    written = pq.read_table(H.write_resolutions_in_child(tmp_path / "resolutions.parquet"))
    assert written.num_rows > 0 and "price_model_id" in written.column_names


def test_the_serving_publish_bench_replaces_the_days_it_is_told_and_copies_the_rest(
    tmp_path, capsys
):
    """bench.serving_publish's simulated new day: the facts' partitions from --since on are
    replaced, every unpartitioned table is copied, nothing else, and the file is never a full
    copy (the bench would then measure the wrong publish)."""
    from test_serving_delta import make_warehouse, stamp

    from bench import serving_publish

    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse)  # fct_llm_calls over 2025-03-01..04, three unpartitioned relations
    stamp(warehouse)
    args = ["--warehouse", str(warehouse), "--since", "2025-03-03", "--rounds", "1"]
    assert serving_publish.main([*args, "--scratch", str(tmp_path / "scratch")]) == 0
    out = capsys.readouterr().out
    for label in ("A", "B"):
        assert (
            f"round 1 {label} new day: " in out
            and "(copied 3, kept 0, replaced {'marts.fct_llm_calls': 2})" in out
        )
    assert not (tmp_path / "scratch").exists()
