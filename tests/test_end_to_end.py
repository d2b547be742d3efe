"""End to end on a small generated data set: generate → llm-margin materialize → warehouse,
checked against the truth the generator planted."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration import cli
from orchestration.paths import DataPaths


def _query(paths: DataPaths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory, request) -> DataPaths:
    root = tmp_path_factory.mktemp("e2e") / "data"
    mp = pytest.MonkeyPatch()
    request.addfinalizer(mp.undo)
    mp.setenv("LLM_MARGIN_DATA_DIR", str(root))
    assert (
        cli.main(
            [
                "generate",
                "--events",
                "3000",
                "--days",
                "5",
                "--customers",
                "6",
                "--seed",
                "11",
                "--quiet",
            ]
        )
        == 0
    )
    assert cli.main(["materialize", "--log-level", "WARNING"]) == 0
    return DataPaths(root)


def _truth(paths: DataPaths):
    return pq.read_table(paths.truth / "events.parquet").to_pandas()


def test_every_valid_call_is_one_row_and_every_malformed_record_is_quarantined(built):
    truth = _truth(built)
    valid = truth[truth["kind"] != "malformed"]
    calls = _query(
        built,
        "select count(*), count(*) filter (where is_incomplete) from staging.stg_usage__events",
    )[0]
    assert calls[0] == valid["event_id"].nunique()
    incomplete = truth[
        truth["is_incomplete_stream"].fillna(False).astype(bool) & (truth["kind"] != "malformed")
    ]
    assert calls[1] == incomplete["event_id"].nunique() > 0

    planted = set(
        zip(
            truth.loc[truth["kind"] == "malformed", "file"],
            truth.loc[truth["kind"] == "malformed", "line"],
            strict=True,
        )
    )
    quarantined = {
        (Path(f).name, int(r))
        for f, r in _query(
            built, "select source_file, source_row from audit.quarantined_usage_events"
        )
    }
    planted = {(Path(f).name, int(r)) for f, r in planted}
    assert quarantined == planted


def test_every_file_reconciles_and_the_summary_adds_up(built):
    unreconciled = _query(
        built, "select count(*) from audit.usage_event_file_loads where not is_reconciled"
    )[0][0]
    assert unreconciled == 0
    read, loaded, quarantined = _query(
        built,
        "select sum(records_read), sum(records_loaded), sum(records_quarantined) from audit.usage_event_file_loads",
    )[0]
    truth = _truth(built)
    assert read == len(truth)
    assert quarantined == int((truth["kind"] == "malformed").sum())
    summary_loaded, summary_quarantined = _query(
        built,
        "select sum(records_loaded), sum(records_quarantined) from marts.mart_customer_usage_summary",
    )[0]
    assert (summary_loaded, summary_quarantined) == (loaded, quarantined)


def test_every_task_matches_the_planted_truth(built):
    truth = pq.read_table(built.truth / "tasks.parquet").to_pandas()
    truth = truth[~truth["has_malformed_record"]].set_index("first_event_id")
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        tasks = (
            con.execute(
                "select first_event_id, customer_id, workspace_id, feature, attempts, retry_attempts, "
                "fallback_attempts, original_route, final_route, is_successful, total_cost_usd "
                "from marts.fct_tasks"
            )
            .fetchdf()
            .set_index("first_event_id")
        )
    assert len(truth) > 100
    assert truth["attempts"].max() >= 20  # a runaway loop is among them
    assert truth["has_tagless_attempt"].any() and (~truth["has_task_id"]).any()
    joined = truth.join(tasks, how="left", lsuffix="_truth")
    for column in (
        "customer_id",
        "workspace_id",
        "feature",
        "attempts",
        "retry_attempts",
        "fallback_attempts",
        "original_route",
        "final_route",
        "is_successful",
    ):
        wrong = joined[joined[f"{column}_truth"].astype(str) != joined[column].astype(str)]
        assert wrong.empty, (column, wrong[[f"{column}_truth", column]].head())

    # Cost: the generator priced every call it made; streams that never closed are billed in full
    # by the provider but only their known tokens are in the data, so those tasks are left out.
    events = pq.read_table(built.truth / "events.parquet").to_pandas()
    open_streams = set(
        events.loc[events["is_incomplete_stream"].fillna(False).astype(bool), "task_id"]
    )
    comparable = joined[~joined["task_id"].isin(open_streams)]
    assert len(comparable) > 100
    cost_gap = (comparable["total_cost_usd"].astype(float) - comparable["provider_cost_usd"]).abs()
    assert (cost_gap < 1e-9).all(), comparable.loc[
        cost_gap >= 1e-9, ["provider_cost_usd", "total_cost_usd"]
    ].head()


def test_task_cost_reconciles_with_call_cost(built):
    calls, tasks = _query(
        built,
        "select (select sum(cost_usd) from marts.fct_llm_calls), (select sum(total_cost_usd) from marts.fct_tasks)",
    )[0]
    assert calls == tasks and calls > 0


def test_report_prints_the_per_customer_summary(built, capsys):
    assert cli.main(["report"]) == 0
    out = capsys.readouterr().out
    assert "Usage and AI cost per customer" in out
    assert "records read" in out
    assert "Cost per successful task by feature, week of" in out
    assert "fallbacks this week, by original route" in out


def test_loading_again_or_receiving_every_record_twice_changes_no_count(built):
    def counts():
        return _query(
            built,
            "select count(*), sum(coalesce(prompt_tokens, 0)), sum(coalesce(completion_tokens, 0)), "
            "count(*) filter (where is_incomplete) from staging.stg_usage__events",
        )[0]

    before = counts()
    versions_before = _query(built, "select sum(versions_received) from staging.stg_usage__events")[
        0
    ][0]

    assert cli.main(["materialize", "--log-level", "WARNING"]) == 0  # nothing new
    assert counts() == before

    # Every record again, in one new file with other content (so it is not skipped as known).
    landing = built.landing_for("usage_events")
    lines = []
    for path in sorted(landing.glob("*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as handle:
            lines += [line.rstrip("\n") for line in handle if line.strip().startswith("{")]
    valid_lines = [line for line in lines if _is_object(line)]
    (landing / "zz-redelivery.jsonl").write_text("\n".join(valid_lines) + "\n")
    assert cli.main(["materialize", "--log-level", "WARNING"]) == 0
    assert counts() == before
    versions_after = _query(built, "select sum(versions_received) from staging.stg_usage__events")[
        0
    ][0]
    redelivered_valid = _query(
        built,
        "select records_loaded from audit.usage_event_file_loads where source_file = 'zz-redelivery.jsonl'",
    )[0][0]
    assert versions_after == versions_before + redelivered_valid
    assert redelivered_valid > 0


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def test_a_failing_blocking_check_makes_materialize_exit_non_zero(built, monkeypatch):
    from orchestration.ingest import assets
    from orchestration.ingest.usage_events import FileLoad

    def unbalanced(*args, **kwargs):
        return [
            FileLoad(
                "x.jsonl",
                "0" * 64,
                "loaded",
                "jsonl",
                records_read=3,
                records_loaded=1,
                records_quarantined=1,
            )
        ]

    monkeypatch.setattr(assets, "load_landing", unbalanced)
    assert cli.main(["materialize", "--log-level", "ERROR"]) == 1


def test_the_benchmark_implementations_agree_with_the_pipeline(built, tmp_path):
    """bench/: the engine-limit statement and the pandas baseline compute, straight from the
    landing files (every format, every planted fault), the same totals as the marts."""
    from bench import engine_limit, pandas_baseline
    from bench import totals as T

    resolutions = T.write_resolutions(tmp_path / T.RESOLUTIONS_FILE)
    pipeline = T.from_warehouse(built.warehouse)
    assert pipeline.calls > 1000 and pipeline.tasks > 1000 and len(pipeline.customer_days) > 20
    T.check_agree(
        pipeline,
        {
            "engine limit": engine_limit.run(built.root, resolutions),
            "pandas": pandas_baseline.run(built.root, resolutions),
        },
    )
