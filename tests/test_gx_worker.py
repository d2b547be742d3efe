"""Great Expectations in a worker process (orchestration/checks/gx_worker.py): a batch validated
there gives the outcomes in-process validation gives, and whatever happens to the worker, the
check still validates its batch."""

from __future__ import annotations

import pytest
from conftest import event
from test_raw_batch_expectations import _write_batch

from orchestration.checks import gx_validation, gx_worker


def _bad_batch(tmp_path) -> dict:
    """A usage batch whose prompt counts are in the wrong unit: a blocking expectation fails."""
    rows = [event(event_id=f"w{i}", latency_ms=900 + i, prompt_tokens=2_400_000) for i in range(40)]
    return {"all": _write_batch(tmp_path, {"wrong-unit.jsonl": rows})}


def _refuse_in_process(*args, **kwargs):
    raise AssertionError("validated in this process, not in the worker")


def test_a_batch_validated_in_the_worker_has_the_outcomes_of_in_process_validation(
    tmp_path, monkeypatch
):
    files = _bad_batch(tmp_path)
    here = gx_validation.validate_batch("usage_events", files)
    assert [(o.column, o.blocking) for o in here.outcomes if not o.success] == [
        ("success_prompt_tokens", True)
    ]
    with gx_worker.warm_validation():
        assert gx_worker.running()
        # the worker imports its own gx_validation: this process's is never called
        monkeypatch.setattr(gx_validation, "validate_batch", _refuse_in_process)
        there = gx_worker.validate_batch("usage_events", files)
        again = gx_worker.validate_batch("usage_events", files)  # one worker serves every check
    assert there == here
    assert again == here
    assert not gx_worker.running()


def test_nothing_is_spawned_outside_a_warm_validation_block(tmp_path, monkeypatch):
    gx_worker.start()
    assert not gx_worker.running()
    calls = []
    monkeypatch.setattr(gx_validation, "validate_batch", lambda *a: calls.append(a) or "here")
    assert gx_worker.validate_batch("usage_events", {"all": []}) == "here"
    assert calls == [("usage_events", {"all": []})]


@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_once_the_worker_is_stopped_or_dies_checks_validate_in_process(tmp_path, how):
    files = _bad_batch(tmp_path)
    with gx_worker.warm_validation():
        process = gx_worker._worker["process"]
        if how == "stopped":  # as the dbt step does before dbt starts
            gx_worker.stop()
            assert not gx_worker.running()
        else:
            process.kill()
            process.join()
        validation = gx_worker.validate_batch("usage_events", files)
        assert not gx_worker.running()
    assert not process.is_alive()
    assert validation == gx_validation.validate_batch("usage_events", files)
