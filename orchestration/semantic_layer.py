"""``llm-margin metrics``: MetricFlow's ``mf`` over the dbt semantic layer, reading the serving copy.

How ``mf`` (dbt-metricflow) finds what it needs, and what this sets for it:

- the dbt project and ``profiles.yml``: ``$DBT_PROJECT_DIR`` and ``$DBT_PROFILES_DIR``, else the
  current directory. Both are the repository root here.
- the metrics: always ``<project>/target/semantic_manifest.json`` (it ignores ``--target-path``),
  written by ``dbt parse``. It is parsed for the ``duckdb`` target, so its relation names are
  ``"warehouse"."marts"."<model>"``; it is re-parsed when a file of the dbt project is newer.
- the connection: the dbt adapter of the profile's target. The ``duckdb`` target opens
  ``warehouse.duckdb`` read-write, which would take the lock of the warehouse's single writer (a
  build in progress fails, or ``mf`` does). ``mf`` runs on the ``serving`` target instead: an
  in-memory DuckDB with ``serving/llm_margin.duckdb`` attached read-only under the catalog name
  ``warehouse``, so the same relation names resolve in the copy the last successful build
  published. Nothing is written to either file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestration.paths import (
    DATA_DIR_ENV,
    DBT_TARGET_ENV,
    DEFAULT_DBT_TARGET,
    PROJECT_ROOT,
    data_paths,
)

# The profiles.yml output mf connects through (read-only, the serving copy).
SERVING_TARGET = "serving"
# Where mf reads the semantic manifest: fixed by dbt-metricflow, relative to the project.
SEMANTIC_MANIFEST = Path("target") / "semantic_manifest.json"


class SemanticLayerError(Exception):
    """The semantic layer cannot be queried; the message says why and what to do."""


def mf_executable() -> str:
    """The ``mf`` beside this interpreter (the virtualenv's), else whatever is on PATH."""
    beside = Path(sys.executable).parent / "mf"
    return str(beside) if beside.exists() else "mf"


def ensure_semantic_manifest() -> Path:
    """``target/semantic_manifest.json`` for the duckdb target, parsed again with ``dbt parse``
    when missing or older than a file of the dbt project (``dbt parse`` never opens a database).

    ``target/`` is the duckdb target's own target path: when the project is loaded for it (the
    default), its ``parse_project`` writes the file. When it is loaded for another target
    (``LLM_MARGIN_DBT_TARGET=spark``), the duckdb target is parsed into ``target/`` from scratch
    (no partial parsing, which can drop singular tests' yml properties from the manifest the
    duckdb build reads)."""
    from orchestration.dbt.project import (
        dbt_parse,
        llm_margin_project,
        manifest_is_stale,
        parse_project,
    )

    path = PROJECT_ROOT / SEMANTIC_MANIFEST
    if not manifest_is_stale(path):
        return path
    try:
        if llm_margin_project.target == DEFAULT_DBT_TARGET:
            parse_project(force=True)
        else:
            environment = {
                **os.environ,
                DATA_DIR_ENV: str(data_paths().root),
                DBT_TARGET_ENV: DEFAULT_DBT_TARGET,
            }
            dbt_parse(DEFAULT_DBT_TARGET, SEMANTIC_MANIFEST.parent, env=environment, partial=False)
    except subprocess.CalledProcessError as exc:
        raise SemanticLayerError(
            f"dbt parse failed (exit {exc.returncode}; its errors are above), so the semantic "
            f"manifest {path} could not be written"
        ) from exc
    return path


def mf_environment() -> dict[str, str]:
    """The environment ``mf`` runs in: this project, the serving target, logs in the data
    directory (``logs/metricflow.log`` and ``logs/dbt.log``, not in the checkout)."""
    paths = data_paths()
    return {
        **os.environ,
        DATA_DIR_ENV: str(paths.root),
        DBT_TARGET_ENV: SERVING_TARGET,
        "DBT_TARGET": SERVING_TARGET,
        "DBT_PROJECT_DIR": str(PROJECT_ROOT),
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "DBT_LOG_PATH": str(paths.logs),
    }


def run_mf(arguments: list[str]) -> int:
    """Run ``mf ARGUMENTS`` against the serving copy; returns mf's exit code. Raises
    SemanticLayerError when there is no serving copy yet or the project does not parse."""
    from orchestration.serving.publish import serving_file

    paths = data_paths()
    served = serving_file(paths.serving)
    if not served.exists():
        raise SemanticLayerError(
            f"there is no serving copy at {served} to query: build the warehouse first "
            "(make run, or llm-margin materialize)"
        )
    ensure_semantic_manifest()
    paths.logs.mkdir(parents=True, exist_ok=True)
    return subprocess.run([mf_executable(), *arguments], env=mf_environment()).returncode
