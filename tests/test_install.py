"""`make install` leaves the virtualenv and the project's packages with their bytecode compiled.

Where Python may not write its cache (PYTHONDONTWRITEBYTECODE, set on this machine and in CI), a
module without a compiled file is compiled from source by every process that imports it: 2-3 s
for each Dagster, dbt or Great Expectations process (DECISIONLOG.md, "Bytecode compiled at
install"). A virtualenv installed before the Makefile compiled it fails here: rebuild it with
`rm .venv/.installed && make install`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

# packages found without importing them: what each Dagster, dbt and GX process loads first
PACKAGES = ["dagster", "dagster_dbt", "dbt.cli", "great_expectations", "pandas", "duckdb"]
PROJECT = ["orchestration", "llm_margin_emit", "sample_data"]


@pytest.mark.parametrize("package", PACKAGES + PROJECT)
def test_the_package_has_its_bytecode_beside_it(package):
    source = Path(importlib.util.find_spec(package).origin)
    cached = Path(importlib.util.cache_from_source(str(source)))
    assert cached.exists(), f"{source} has no compiled {cached.name}: run make install again"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_of_an_installed_package_is_compiled(package):
    root = Path(importlib.util.find_spec(package).origin).parent
    missing = [
        str(source.relative_to(root))
        for source in root.rglob("*.py")
        if not Path(importlib.util.cache_from_source(str(source))).exists()
    ]
    assert missing == [], f"{len(missing)} modules of {package} are not compiled: {missing[:5]}"
