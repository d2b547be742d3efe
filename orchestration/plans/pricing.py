"""Each hypothetical task's cost, from the one pricing path: dbt builds
``intermediate.int_call_shapes_priced`` over the call shapes just written (the same pricing macros
as ``int_llm_calls_priced``), and the calculator reads it. There is no Python pricer."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from orchestration.paths import PROJECT_ROOT

PRICED_MODEL = "int_call_shapes_priced"


class PricingError(RuntimeError):
    """dbt could not price the call shapes, or some shapes have no price; the message says why."""


def build_priced_shapes(log: Path | None = None) -> None:
    """``dbt build --select int_call_shapes_priced`` (the model and its data tests). The caller holds
    the data directory's lock (one writer)."""
    from orchestration.dbt.project import dbt_env, dbt_executable, llm_margin_project
    from orchestration.settings import Settings

    command = [
        dbt_executable(),
        # "build" as every build runs it (unit tests only when asked, the configured exclusion)
        *Settings().dbt_build_args(),
        "--select",
        PRICED_MODEL,
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT),
        "--target",
        llm_margin_project.target,
        "--target-path",
        str(llm_margin_project.target_path),
    ]
    done = subprocess.run(
        command, env=dbt_env(), cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        errors = [
            line.strip()
            for line in (done.stdout + done.stderr).splitlines()
            if "error" in line.lower()
        ]
        shown = "; ".join(errors[:5]) or f"exit code {done.returncode}"
        where = f" (full dbt output in {log})" if log is not None else ""
        raise PricingError(f"dbt build --select {PRICED_MODEL} failed: {shown}{where}")


@dataclass(frozen=True)
class PricedTasks:
    feature: str
    task_costs: np.ndarray  # USD per task shape, every one priced
    unpriced_tasks: int
    unpriced_reasons: tuple[str, ...]


def _task_cost_rows(con: duckdb.DuckDBPyConnection, shape_set: str) -> list[tuple]:
    return con.execute(
        f"""
        select
            feature,
            task_key,
            cast(sum(cost_usd) as double) as cost_usd,
            count(*) - count(cost_usd) as unpriced_calls,
            string_agg(distinct unpriced_reason, '; ') as reasons
        from intermediate.{PRICED_MODEL}
        where shape_set = ?
        group by feature, task_key
        order by feature, task_key
        """,
        [shape_set],
    ).fetchall()


def read_task_costs(con: duckdb.DuckDBPyConnection, shape_set: str) -> dict[str, PricedTasks]:
    """Per feature, the cost of each task shape: the sum of its calls' ``cost_usd``. A task with
    any unpriced call has no cost (it is counted, never taken as $0)."""
    try:
        rows = _task_cost_rows(con, shape_set)
    except duckdb.CatalogException:
        raise PricingError(
            f"intermediate.{PRICED_MODEL} is not in the warehouse: this checkout's dbt project has "
            "no such model (it comes with the what-if pricing models)"
        ) from None
    found: dict[str, dict] = {}
    for feature, _, cost, unpriced, reasons in rows:
        entry = found.setdefault(feature, {"costs": [], "unpriced": 0, "reasons": set()})
        if unpriced:
            entry["unpriced"] += 1
            entry["reasons"].update(r for r in (reasons or "").split("; ") if r)
        else:
            entry["costs"].append(cost)
    return {
        feature: PricedTasks(
            feature,
            np.asarray(entry["costs"], dtype=np.float64),
            entry["unpriced"],
            tuple(sorted(entry["reasons"])),
        )
        for feature, entry in found.items()
    }
