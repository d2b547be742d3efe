"""Loading is idempotent per file content, reconciles exactly, and survives bad files and crashes."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime

import duckdb
import pytest
from conftest import event, write_jsonl

from orchestration.ingest import readers
from orchestration.ingest.lake import Lake
from orchestration.ingest.usage_events import (
    landing_files,
    load_landing,
    summarize,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _snapshot(lake: Lake) -> dict:
    files = sorted(str(p.relative_to(lake.root)) for p in lake.root.rglob("*") if p.is_file())
    with duckdb.connect() as con:
        events = con.execute(
            f"select count(*) from read_parquet('{lake.data}/*/*.parquet')"
        ).fetchall()[0][0]
        quarantined = con.execute(
            f"select count(*) from read_parquet('{lake.quarantine}/*.parquet')"
        ).fetchall()[0][0]
    return {"files": files, "events": events, "quarantined": quarantined}


@pytest.fixture
def landed(data_dir):
    landing = data_dir.landing_for("usage_events")
    write_jsonl(landing / "day1.jsonl", [event(event_id=f"a-{i}") for i in range(5)] + ["oops"])
    write_jsonl(
        landing / "day2.jsonl.gz", [event(event_id=f"b-{i}") for i in range(3)], compress=True
    )
    return data_dir


def test_loading_the_same_files_twice_changes_nothing(landed):
    lake = Lake(landed.lake)
    landing = landed.landing_for("usage_events")
    first = summarize(load_landing(landing, lake, now=NOW))
    before = _snapshot(lake)
    second = load_landing(landing, lake, now=NOW)
    assert first["records_loaded"] == 8 and first["records_quarantined"] == 1
    assert {r.status for r in second} == {"already_loaded"}
    assert summarize(second)["records_read"] == 0
    assert _snapshot(lake) == before


def test_the_same_content_under_another_name_is_not_loaded_again(landed):
    lake = Lake(landed.lake)
    landing = landed.landing_for("usage_events")
    load_landing(landing, lake, now=NOW)
    before = _snapshot(lake)
    shutil.copy(landing / "day1.jsonl", landing / "day1-resent.jsonl")
    results = {r.source_file: r for r in load_landing(landing, lake, now=NOW)}
    assert results["day1-resent.jsonl"].status == "already_loaded"
    assert "day1.jsonl" in results["day1-resent.jsonl"].message
    assert _snapshot(lake) == before


@pytest.mark.parametrize("workers", [1, 3])
def test_copies_landing_in_one_batch_load_once_whatever_the_workers(landed, workers):
    """Files load in parallel; copies of one content in the same batch must not race each other."""
    lake = Lake(landed.lake)
    landing = landed.landing_for("usage_events")
    for copy in ("a-copy.jsonl", "z-copy.jsonl"):
        shutil.copy(landing / "day1.jsonl", landing / copy)
    results = load_landing(landing, lake, now=NOW, workers=workers)
    assert [r.source_file for r in results] == [p.name for p in landing_files(landing)]
    statuses = {r.source_file: r.status for r in results}
    assert statuses == {
        "a-copy.jsonl": "loaded",  # the first of the three copies in file order loads
        "day1.jsonl": "already_loaded",
        "day2.jsonl.gz": "loaded",
        "z-copy.jsonl": "already_loaded",
    }
    snapshot = _snapshot(lake)
    assert (snapshot["events"], snapshot["quarantined"]) == (8, 1)


def test_the_number_of_ingest_workers_is_checked(monkeypatch):
    from orchestration.settings import Settings, ingest_workers

    monkeypatch.setenv("LLM_MARGIN_INGEST_WORKERS", "0")
    with pytest.raises(ValueError, match="LLM_MARGIN_INGEST_WORKERS must be 1 or more"):
        ingest_workers()
    monkeypatch.setenv("LLM_MARGIN_INGEST_WORKERS", "two")
    with pytest.raises(ValueError, match="whole number"):
        ingest_workers()
    monkeypatch.setenv("LLM_MARGIN_INGEST_WORKERS", "2")
    assert ingest_workers() == 2
    # the resource's own value wins over the environment, and is checked the same way
    assert Settings(ingest_workers=1).workers() == 1
    with pytest.raises(ValueError, match="ingest_workers must be 1 or more"):
        Settings(ingest_workers=0).workers()


def test_every_file_reconciles_and_the_manifest_says_so(landed):
    lake = Lake(landed.lake)
    results = load_landing(landed.landing_for("usage_events"), lake, now=NOW)
    assert all(r.reconciles for r in results)
    manifests = {m["source_file"]: m for m in lake.manifests_all()}
    assert manifests["day1.jsonl"]["records_read"] == 6
    assert manifests["day1.jsonl"]["records_loaded"] == 5
    assert manifests["day1.jsonl"]["records_quarantined"] == 1
    assert manifests["day1.jsonl"]["quarantine_by_reason"] == {"bad_json": 1}


def test_a_crashed_load_leaves_nothing_counted_and_is_redone(landed, monkeypatch):
    lake = Lake(landed.lake)
    landing = landed.landing_for("usage_events")
    real_publish = Lake.publish

    def crash_after_moving_files(self, sha, manifest):
        # Move the data in, then die before the manifest is written.
        work = self.work_data(sha)
        for part in work.glob("event_date=*/*.parquet"):
            target = self.data / part.parent.name / part.name
            target.parent.mkdir(parents=True, exist_ok=True)
            part.replace(target)
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(Lake, "publish", crash_after_moving_files)
    with pytest.raises(KeyboardInterrupt):
        load_landing(landing, lake, now=NOW, files=[landing / "day1.jsonl"])
    assert lake.manifests_all() == []

    monkeypatch.setattr(Lake, "publish", real_publish)
    results = load_landing(landing, lake, now=NOW)
    assert [r.status for r in results] == ["loaded", "loaded"]
    assert _snapshot(lake)["events"] == 8  # the crashed run's rows were replaced, not added to


def test_a_corrupt_or_unsupported_file_is_reported_and_the_rest_still_loads(landed):
    landing = landed.landing_for("usage_events")
    whole = gzip.compress(
        "".join(json.dumps(event(event_id=f"x-{i}")) + "\n" for i in range(2000)).encode()
    )
    (landing / "broken.jsonl.gz").write_bytes(whole[: len(whole) // 2])  # a transfer cut in half
    (landing / "notes.txt").write_text("hello")
    (landing / ".in-flight.jsonl").write_text("being written")
    results = {r.source_file: r for r in load_landing(landing, Lake(landed.lake), now=NOW)}
    assert results["broken.jsonl.gz"].status == "failed"
    assert results["broken.jsonl.gz"].message
    assert results["notes.txt"].status == "unsupported"
    assert ".in-flight.jsonl" not in results
    assert results["day1.jsonl"].status == "loaded" and results["day2.jsonl.gz"].status == "loaded"
    # The failed file stays in landing and is tried again next time.
    again = {r.source_file: r.status for r in load_landing(landing, Lake(landed.lake), now=NOW)}
    assert again["broken.jsonl.gz"] == "failed"


def test_line_numbers_hold_across_read_chunks(data_dir, monkeypatch):
    monkeypatch.setattr(readers, "CHUNK_BYTES", 64)
    landing = data_dir.landing_for("usage_events")
    lines = []
    for i in range(40):
        lines.append("not json" if i % 7 == 3 else json.dumps(event(event_id=f"e-{i}")))
    write_jsonl(landing / "long.jsonl", lines)
    lake = Lake(data_dir.lake)
    [result] = load_landing(landing, lake, now=NOW)
    assert result.records_read == 40
    with duckdb.connect() as con:
        bad_rows = [
            r[0]
            for r in con.execute(
                f"select source_row from read_parquet('{lake.quarantine}/*.parquet') order by 1"
            ).fetchall()
        ]
        good = dict(
            con.execute(
                f"select event_id, _source_row from read_parquet('{lake.data}/*/*.parquet')"
            ).fetchall()
        )
    assert bad_rows == [i + 1 for i in range(40) if i % 7 == 3]
    assert all(good[f"e-{i}"] == i + 1 for i in range(40) if i % 7 != 3)


def test_landing_files_skips_hidden_and_partial_files(data_dir):
    landing = data_dir.landing_for("usage_events")
    for name in (
        "a.jsonl",
        ".hidden.jsonl",
        "b.jsonl.tmp",
        "c.csv.part",
        "sub/d.parquet",
        "_e.jsonl",
    ):
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        (landing / name).write_text("")
    assert [p.relative_to(landing).as_posix() for p in landing_files(landing)] == [
        "a.jsonl",
        "sub/d.parquet",
    ]
