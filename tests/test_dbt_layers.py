"""dbt layers follow the DAG (docs/architecture.md): staging reads sources and seeds, intermediate
models read staging and intermediate models, marts read anything below them, never the reverse.
A model that reads a layer above its own would make a number depend on a screen built from it."""

from __future__ import annotations

import json

import pytest

from orchestration.dbt.project import parse_project

LAYER_OF_FOLDER = {"staging": 0, "intermediate": 1, "marts": 2, "audit": 2}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(parse_project().read_text())


def _layer(node: dict) -> int | None:
    if node["resource_type"] in ("source", "seed"):
        return 0
    if node["resource_type"] != "model":
        return None
    folder = node["original_file_path"].replace("\\", "/").split("/")[1]
    return LAYER_OF_FOLDER[folder]


def test_every_model_reads_its_own_layer_or_below(manifest):
    nodes = {**manifest["nodes"], **manifest["sources"]}
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) > 20  # guards against passing on an empty selection
    upward = []
    for model in models:
        for parent_id in model["depends_on"]["nodes"]:
            parent = nodes[parent_id]
            if _layer(parent) is not None and _layer(parent) > _layer(model):
                upward.append(f"{model['name']} reads {parent['name']}")
    assert upward == [], "models reading a layer above their own:\n" + "\n".join(sorted(upward))
