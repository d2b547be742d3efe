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


@dataclass(frozen=True)
class DataPaths:
    """The layout of one data directory (see docs/data-directory.md)."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def landing_for(self, source: str) -> Path:
        return self.landing / source

    @property
    def lake(self) -> Path:
        return self.root / "lake"

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
