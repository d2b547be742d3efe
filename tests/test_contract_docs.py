"""The contract's documentation covers every field and every quarantine reason the code can give."""

from __future__ import annotations

import re

from orchestration.contract import fields
from orchestration.ingest import validate
from orchestration.paths import PROJECT_ROOT

DOC = (PROJECT_ROOT / "docs" / "usage-events.md").read_text()


def test_every_contract_field_is_documented_with_its_enum_values():
    for spec in fields():
        assert f"| `{spec.name}` |" in DOC, spec.name
        for value in spec.enum or ():
            assert f"`{value}`" in DOC, (spec.name, value)


def test_every_quarantine_reason_is_documented():
    sql = validate.validation_sql(numbers_as_text=False, from_bytes=True) + validate.validation_sql(
        numbers_as_text=True, from_bytes=False
    )
    codes = set(re.findall(r"code := '([a-z_]+)'", sql))
    assert len(codes) >= 15
    for code in codes:
        assert f"| `{code}` |" in DOC, code
