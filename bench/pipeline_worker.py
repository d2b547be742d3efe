"""One pipeline run, the same work as ``llm-margin materialize``, with its stage timings.

``python -m bench.pipeline_worker OUT.json`` on ``$LLM_MARGIN_DATA_DIR``: materializes every asset
and asset check of the Definitions in-process (as orchestration.cli.cmd_materialize does, but on a
throwaway Dagster instance, so a benchmark never writes runs into a person's), then
writes the start and end of every Dagster step (from the run's event log) and the per-node
timings of the dbt invocation (its run_results.json) to OUT.json. Run as a child process by the
harness, which samples its memory.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

STARTED = time.time()  # before the imports: loading Dagster and parsing dbt is part of the cost


def dbt_nodes(
    target_root: Path, since: float, run_id: str | None = None
) -> tuple[str | None, list[dict]]:
    """Per-node timings of the newest dbt run_results.json written after ``since``, by the
    Dagster run ``run_id`` when given: dagster-dbt names each invocation's target directory
    ``<op>-<run id[:7]>-<random>``, so another process's dbt runs (a test suite in the same
    checkout) cannot be taken for this run's."""
    found = [
        p
        for p in target_root.rglob("run_results.json")
        if p.stat().st_mtime >= since and (run_id is None or f"-{run_id[:7]}-" in p.parent.name)
    ]
    if not found:
        return None, []
    path = max(found, key=lambda p: p.stat().st_mtime)
    results = json.loads(path.read_text())
    nodes = []
    for r in results.get("results", []):
        timing = {t["name"]: t for t in r.get("timing", [])}
        execute = timing.get("execute") or {}
        nodes.append(
            {
                "unique_id": r["unique_id"],
                "status": r["status"],
                "seconds": r.get("execution_time") or 0.0,
                "started_at": execute.get("started_at"),
                "completed_at": execute.get("completed_at"),
            }
        )
    return str(path), nodes


def main(argv: list[str]) -> int:
    # as `llm-margin materialize` does: GX is imported in a worker beside the run
    from orchestration.checks.gx_worker import warm_validation

    with warm_validation():
        return _run(Path(argv[0]))


def _run(out: Path) -> int:
    from dagster import DagsterEventType, DagsterInstance, materialize

    from orchestration.dbt.project import llm_margin_project
    from orchestration.definitions import defs
    from orchestration.paths import data_paths

    data_paths().ensure()
    imported = time.time()
    assets = list(defs.assets or []) + list(defs.asset_checks or [])
    steps: dict[str, dict] = {}
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            assets,
            resources=defs.resources,
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        for entry in instance.all_logs(result.run_id):
            event = entry.dagster_event
            if event is None or not entry.step_key:
                continue
            step = steps.setdefault(entry.step_key, {"step": entry.step_key})
            if event.event_type == DagsterEventType.STEP_START:
                step["start"] = entry.timestamp
            elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
                step["end"] = entry.timestamp
                step["ok"] = event.event_type == DagsterEventType.STEP_SUCCESS
    finished = time.time()
    target_root = Path(llm_margin_project.project_dir) / llm_margin_project.target_path
    run_results, nodes = dbt_nodes(target_root, STARTED, result.run_id)
    failed_checks = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]
    out.write_text(
        json.dumps(
            {
                "started": STARTED,
                "imported": imported,
                "finished": finished,
                "success": result.success,
                "steps": sorted(steps.values(), key=lambda s: s.get("start", 0)),
                "dbt_run_results": run_results,
                "dbt_nodes": nodes,
                "failed_checks": failed_checks,
            },
            indent=1,
        )
    )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
