"""Where everything lives: the project checkout and the data directory.

Nothing here depends on the current working directory: the project root is found from this
file's location and the data directory from ``LLM_MARGIN_DATA_DIR`` (default ``<project>/data``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_ENV = "LLM_MARGIN_DATA_DIR"
# The dbt target (profiles.yml) to build: duckdb (default) or spark. Read once, when
# orchestration.dbt.project is first imported: set it before (``llm-margin materialize --target``).
DBT_TARGET_ENV = "LLM_MARGIN_DBT_TARGET"
DEFAULT_DBT_TARGET = "duckdb"
# Where dbt parses and compiles to, relative to the project (default ``target``): CI sets it for
# the runs it starts beside ``make test`` (the Spark comparison, the torture run), so parallel
# builds never share a manifest or a partial-parse file (.ci/run).
DBT_TARGET_PATH_ENV = "LLM_MARGIN_DBT_TARGET_PATH"
# The folder of what-if scenario files (docs/decisions.md, "What-if repricing"); versioned with
# the project, so the default is in the checkout, not the data directory.
SCENARIOS_DIR_ENV = "LLM_MARGIN_SCENARIOS_DIR"
DEFAULT_SCENARIOS_DIR = PROJECT_ROOT / "scenarios"


def dbt_targets() -> list[str]:
    """The outputs of profiles.yml: the only values ``--target`` and ``$LLM_MARGIN_DBT_TARGET``
    may take (a target is also a directory name under target/)."""
    import yaml

    profiles = yaml.safe_load((PROJECT_ROOT / "profiles.yml").read_text())
    return sorted(profiles["llm_margin"]["outputs"])


def check_dbt_target(target: str) -> str:
    if target not in dbt_targets():
        raise ValueError(
            f"dbt target {target!r} ({DBT_TARGET_ENV} or --target) is not one of profiles.yml's "
            f"outputs: {', '.join(dbt_targets())}"
        )
    return target


LANDING_SOURCES = (
    "usage_events",
    "otel",
    "litellm",
    "pricing",
    "billing",
    "provider_invoices",
    "fx",
    "stripe",
    "provider_reports",
)


# Characters a data directory's path may not hold: the path reaches SQL as a string literal
# (dbt's sources, DuckDB's COPY ... TO) and as a file glob (read_parquet('<dir>/lake/*/*.parquet')),
# where a quote would end the string and these would match other files.
FORBIDDEN_IN_DATA_DIR = "'*?[]{}"


class DataDirError(ValueError):
    """A data directory whose path cannot be used safely; the message says why."""


def check_data_dir(root: Path, given_as: str = f"{DATA_DIR_ENV} or --data-dir") -> Path:
    """``root``, or ``DataDirError`` when its path holds a quote, a glob character or a control
    character. Quotes of the other kind, spaces, markup and any Unicode letter are fine."""
    text = str(root)
    bad = sorted({c for c in text if c in FORBIDDEN_IN_DATA_DIR or ord(c) < 32 or ord(c) == 127})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise DataDirError(
            f"the data directory {text!r} ({given_as}) has {shown} in its path: "
            f"llm-margin cannot use a path with any of {FORBIDDEN_IN_DATA_DIR} or a control "
            "character, because it reaches SQL as a quoted string and as a file pattern. "
            "Choose a directory without them."
        )
    return root


@dataclass(frozen=True)
class DataPaths:
    """The layout of one data directory (see docs/data-directory.md)."""

    root: Path

    def __post_init__(self) -> None:
        check_data_dir(self.root)

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def landing_for(self, source: str) -> Path:
        return self.landing / source

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def scenario_rules(self) -> Path:
        """The rules of every loaded what-if scenario (orchestration/scenarios/lake.py)."""
        return self.lake / "scenarios" / "scenario_rules.parquet"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def serving(self) -> Path:
        return self.root / "serving"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def truth(self) -> Path:
        return self.root / "truth"

    @property
    def dagster_home(self) -> Path:
        """The default ``$DAGSTER_HOME`` (orchestration/instance.py)."""
        return self.root / "dagster_home"

    @property
    def landing_loaded(self) -> Path:
        """The landing state ``llm-margin materialize`` last loaded (orchestration/sensors/landing.py)."""
        return self.root / "landing_loaded.json"

    @property
    def logs(self) -> Path:
        """Full logs of ``llm-margin materialize`` (``materialize-<UTC time>.log``)."""
        return self.root / "logs"

    def ensure(self) -> DataPaths:
        """Create every directory of the layout (idempotent)."""
        for source in LANDING_SOURCES:
            self.landing_for(source).mkdir(parents=True, exist_ok=True)
        for path in (self.lake, self.serving, self.reports):
            path.mkdir(parents=True, exist_ok=True)
        return self


def data_dir() -> Path:
    """The data directory: ``$LLM_MARGIN_DATA_DIR`` made absolute, else ``<project>/data``."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return PROJECT_ROOT / "data"


def data_paths() -> DataPaths:
    return DataPaths(data_dir())


def scenarios_dir() -> Path:
    """The scenario files' folder: ``$LLM_MARGIN_SCENARIOS_DIR`` made absolute, else
    ``<project>/scenarios``."""
    configured = os.environ.get(SCENARIOS_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser().resolve()
    return DEFAULT_SCENARIOS_DIR
