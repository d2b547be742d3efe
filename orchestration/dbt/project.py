"""The dbt project at the repository root, its target, and its manifest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.paths import (
    DATA_DIR_ENV,
    DBT_TARGET_ENV,
    DBT_TARGET_PATH_ENV,
    DEFAULT_DBT_TARGET,
    PROJECT_ROOT,
    check_dbt_target,
    data_dir,
)

TARGET_ENV = DBT_TARGET_ENV


def dbt_target() -> str:
    return check_dbt_target(os.environ.get(TARGET_ENV) or DEFAULT_DBT_TARGET)


def dbt_target_path(target: str | None = None) -> Path:
    """Where dbt parses to, relative to the project: ``target/`` for the default target and
    ``target/<name>/`` for any other, so manifests parsed for different targets (the
    incremental strategy is chosen per adapter) never overwrite each other.
    ``$LLM_MARGIN_DBT_TARGET_PATH`` moves ``target/`` elsewhere (for builds run side by side)."""
    target = target or dbt_target()
    root = Path(os.environ.get(DBT_TARGET_PATH_ENV) or "target")
    return root if target == DEFAULT_DBT_TARGET else root / target


def dbt_beside_interpreter() -> Path:
    """Where the ``dbt`` of this interpreter's environment (the virtualenv's) is installed."""
    return Path(sys.executable).parent / "dbt"


def dbt_executable() -> str:
    """The ``dbt`` beside this interpreter (the virtualenv's), else whatever is on PATH."""
    beside = dbt_beside_interpreter()
    return str(beside) if beside.exists() else "dbt"


def dbt_env() -> dict[str, str]:
    """The environment dbt runs in: the data directory always absolute."""
    return {**os.environ, DATA_DIR_ENV: str(data_dir()), TARGET_ENV: llm_margin_project.target}


llm_margin_project = DbtProject(
    project_dir=PROJECT_ROOT,
    profiles_dir=PROJECT_ROOT,
    target=dbt_target(),
    target_path=dbt_target_path(),
)


DBT_SOURCES = (
    "models",
    "macros",
    "seeds",
    "tests/dbt",
    "analyses",
    "dbt_project.yml",
    "profiles.yml",
)


def _changed_since(built: float, names: tuple[str, ...]) -> bool:
    for name in names:
        root = PROJECT_ROOT / name
        files = [root] if root.is_file() else (root.rglob("*") if root.exists() else [])
        if any(path.stat().st_mtime > built for path in files):
            return True
    return False


def manifest_is_stale(manifest: Path | None = None) -> bool:
    """True when the manifest (default: this target's ``manifest.json``) is missing or older than
    any file of the dbt project."""
    manifest = manifest or llm_margin_project.manifest_path
    if not manifest.exists():
        return True
    return _changed_since(manifest.stat().st_mtime, DBT_SOURCES)


def _singular_tests_changed() -> bool:
    """A singular test or a macro (singular tests call macros, and a changed macro re-parses
    them) changed since the manifest was written."""
    manifest = llm_margin_project.manifest_path
    return not manifest.exists() or _changed_since(
        manifest.stat().st_mtime, ("tests/dbt", "macros")
    )


def dbt_parse(
    target: str, target_path: Path | str, *, env: dict[str, str], partial: bool = True
) -> None:
    """``dbt parse`` of the project for ``target`` into ``target_path``; never opens a database.
    Raises ``CalledProcessError`` when dbt fails (its errors are on the console)."""
    command = [
        dbt_executable(),
        "parse",
        "--quiet",
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT),
        "--target",
        target,
        "--target-path",
        str(target_path),
    ]
    if not partial:
        command.append("--no-partial-parse")
    subprocess.run(command, check=True, env=env, cwd=PROJECT_ROOT)


def parse_project(*, force: bool = False) -> Path:
    """Write ``target/manifest.json`` with ``dbt parse`` when the project changed since the last
    parse (partial parsing keeps it ~2 s)."""
    manifest = llm_margin_project.manifest_path
    if force or manifest_is_stale():
        if _singular_tests_changed():
            # dbt 1.11's partial parsing drops the yml properties of a singular test whose SQL
            # or macro changed (its description, and meta.dagster.ref, which attaches the test to an
            # asset): its saved state is thrown away and the project parsed from scratch.
            (PROJECT_ROOT / llm_margin_project.target_path / "partial_parse.msgpack").unlink(
                missing_ok=True
            )
        dbt_parse(llm_margin_project.target, llm_margin_project.target_path, env=dbt_env())
    return manifest
