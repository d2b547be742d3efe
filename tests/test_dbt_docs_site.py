"""The dbt docs site (`make docs`) starts somewhere and names who answers for what: the project's
own overview page (models/overview.md) instead of dbt's "Welcome!", an owner and tags on every
model and seed, exposures labelled as a person would say them. The overview names models,
columns, groups and tags; each name must exist in the manifest, so the front page cannot go stale
silently when a model is renamed or removed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from orchestration.dbt.project import parse_project
from orchestration.paths import PROJECT_ROOT
from orchestration.serving.publish import SERVED_SCHEMAS

PROJECT = "llm_margin"
OVERVIEW_ID = f"doc.{PROJECT}.__overview__"
GROUPED = ("model", "seed", "snapshot", "analysis")
# models/<layer>/... (docs/architecture.md "Layout"); a seed's layer tag is `seed`, an analysis's
# `analysis`
LAYERS = ("staging", "intermediate", "marts", "audit")


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(parse_project().read_text())


@pytest.fixture(scope="module")
def overview(manifest) -> str:
    assert OVERVIEW_ID in manifest["docs"], (
        f"no {{% docs __overview__ %}} block in project {PROJECT}: the docs site would open on "
        "dbt's generic welcome page"
    )
    return manifest["docs"][OVERVIEW_ID]["block_contents"]


def _grouped_nodes(manifest: dict) -> list[dict]:
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] in GROUPED]
    assert len(nodes) > 30  # guards against passing on an empty selection
    return nodes


def _layer_of(node: dict) -> str:
    if node["resource_type"] in ("seed", "analysis"):
        return node["resource_type"]
    return node["original_file_path"].replace("\\", "/").split("/")[1]


def _links(overview: str) -> list[tuple[str, str]]:
    """(route, unique_id) of every docs-site link: [text](#!/<route>/<unique_id>)."""
    return re.findall(r"\]\(#!/([a-z_]+)/([^)\s]+)\)", overview)


def _backticked(overview: str) -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", overview))


# --- owners and tags -------------------------------------------------------------------------


def test_every_model_and_seed_has_an_owner_the_docs_site_shows(manifest):
    """The docs site's "Owner" on a model page is its group's owner (name and/or email)."""
    groups = manifest["groups"]
    missing = []
    for node in _grouped_nodes(manifest):
        group = node.get("group")
        owner = groups.get(f"group.{PROJECT}.{group}", {}).get("owner", {}) if group else {}
        if not (owner.get("name") or owner.get("email")):
            missing.append(f"{node['resource_type']} {node['name']} (group {group!r})")
    assert missing == [], "no owner shown for:\n" + "\n".join(sorted(missing))


def test_every_group_says_what_it_holds(manifest):
    groups = list(manifest["groups"].values())
    assert len(groups) >= 5
    assert [g["name"] for g in groups if not g["description"].strip()] == []


def test_no_model_is_private_so_groups_restrict_no_ref(manifest):
    """Groups only restrict ref() to `private` models; every model stays `protected`."""
    models = [n for n in _grouped_nodes(manifest) if n["resource_type"] == "model"]
    assert {n["name"]: n["access"] for n in models if n["access"] != "protected"} == {}


def test_every_model_and_seed_is_tagged_with_its_layer_and_its_domain(manifest):
    """Tags, shown on each model page: its layer (from its folder) and its domain (its group)."""
    wrong = []
    for node in _grouped_nodes(manifest):
        expected = {_layer_of(node), node.get("group")}
        if None in expected or not expected <= set(node["tags"]):
            wrong.append(
                f"{node['name']}: tags {node['tags']}, expected {sorted(map(str, expected))}"
            )
    assert wrong == [], "models without their layer and domain tags:\n" + "\n".join(wrong)


def test_served_is_the_tag_of_exactly_what_the_serving_copy_publishes(manifest):
    served_by_schema = {
        n["name"] for n in _grouped_nodes(manifest) if n["schema"] in SERVED_SCHEMAS
    }
    tagged = {n["name"] for n in _grouped_nodes(manifest) if "served" in n["tags"]}
    assert "fct_llm_calls" in served_by_schema and "stg_usage__events" not in served_by_schema
    assert tagged == served_by_schema


# --- exposures -------------------------------------------------------------------------------


def test_every_exposure_has_a_label_a_person_reads_an_owner_and_a_description(manifest):
    exposures = list(manifest["exposures"].values())
    assert len(exposures) >= 3
    for exposure in exposures:
        label = exposure.get("label") or ""
        assert label and label != exposure["name"] and "_" not in label, (
            f"exposure {exposure['name']}: label {label!r} is not a name a person would read"
        )
        assert label[0].isupper(), f"exposure {exposure['name']}: label {label!r}"
        owner = exposure["owner"]
        assert owner.get("name") or owner.get("email"), f"exposure {exposure['name']}: no owner"
        assert len(exposure["description"].split()) >= 10, f"exposure {exposure['name']}"
    labels = [e["label"] for e in exposures]
    assert len(set(labels)) == len(labels), f"two exposures share a label: {labels}"


# --- the overview page -----------------------------------------------------------------------


def test_the_overview_is_the_projects_own_page(manifest, overview):
    """dbt's own overview (package `dbt`) is replaced: the docs site prefers a project's block."""
    assert manifest["docs"]["doc.dbt.__overview__"]["block_contents"] != overview
    assert overview.lstrip().startswith("# llm-margin")
    assert "Welcome!" not in overview


def test_every_link_on_the_overview_opens_a_page_that_exists(manifest, overview):
    nodes = {**manifest["nodes"], **manifest["exposures"], **manifest["sources"]}
    links = _links(overview)
    assert len(links) >= 15
    broken = [
        f"#!/{route}/{unique_id}"
        for route, unique_id in links
        if unique_id not in nodes or nodes[unique_id]["resource_type"] != route
    ]
    assert broken == [], "overview links to pages that do not exist:\n" + "\n".join(broken)


def test_every_model_name_on_the_overview_is_a_model(manifest, overview):
    """Names such as `mart_x` or fct_x.column anywhere in the text, linked or not."""
    names = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] in GROUPED}
    mentioned = set(re.findall(r"\b((?:fct|dim|mart|int|stg|base)_[a-z0-9_]+)", overview))
    assert len(mentioned) >= 15
    assert mentioned - names == set(), "the overview names models that do not exist"


def test_every_identifier_in_code_on_the_overview_is_something_the_project_has(manifest, overview):
    """A `snake_case` word on the page is a model, seed, group, tag, schema, column or an
    accepted value of a column (a budget state): a renamed column or state fails here."""
    known: set[str] = set(LAYERS) | {"seed"}
    for node in manifest["nodes"].values():
        known.add(node["name"])
        known.update(node.get("tags", []))
        known.update(node.get("columns", {}))
        if node["resource_type"] in GROUPED:
            known.add(node["schema"])
        kwargs = (node.get("test_metadata") or {}).get("kwargs", {})
        known.update(str(v) for v in kwargs.get("values") or [])
    known.update(g["name"] for g in manifest["groups"].values())
    identifiers = {w for w in _backticked(overview) if re.fullmatch(r"[a-z][a-z0-9_]*[a-z0-9]", w)}
    assert {"served", "is_month_to_date", "over_budget"} <= identifiers
    assert identifiers - known == set()


def test_column_references_on_the_overview_are_columns_of_that_model(manifest, overview):
    columns = {
        n["name"]: set(n["columns"])
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
    }
    references = re.findall(r"`([a-z_]+)\.([a-z_]+)`", overview)
    assert references, "the overview names no model.column"
    wrong = [f"{m}.{c}" for m, c in references if c not in columns.get(m, set())]
    assert wrong == []


def test_the_budget_states_on_the_overview_are_the_marts_states_in_order(manifest, overview):
    """The overview lists the states in order of severity; the mart's accepted values are the
    same set (docs/budgets.md "States")."""
    sentence = re.search(r"The\s+state\s+is\s+the\s+first\s+of\s+(.+?)\.(?:\s|$)", overview, re.S)
    assert sentence, "the overview no longer lists the budget states"
    listed = re.findall(r"`([a-z_0-9]+)`", sentence.group(1))
    accepted = next(
        n["test_metadata"]["kwargs"]["values"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and n.get("attached_node") == f"model.{PROJECT}.mart_budget_status"
        and n.get("column_name") == "state"
        and (n.get("test_metadata") or {}).get("name") == "accepted_values"
    )
    assert sorted(listed) == sorted(accepted)
    assert listed[0] == "over_budget" and listed[-1] == "ok"


def test_the_overview_introduces_every_layer_group_and_what_the_report_reads(manifest, overview):
    """A new layer, domain or report input must reach the front page to pass."""
    code = _backticked(overview)
    missing = [layer for layer in LAYERS if layer not in code]
    missing += [g["name"] for g in manifest["groups"].values() if g["name"] not in code]
    linked = {unique_id for _, unique_id in _links(overview)}
    report = next(e for e in manifest["exposures"].values() if e["name"] == "weekly_founder_report")
    missing += [n for n in report["depends_on"]["nodes"] if n not in linked]
    missing += [e for e in manifest["exposures"] if e not in linked]
    assert missing == [], "not on the overview: " + ", ".join(missing)


def test_every_repository_document_the_overview_points_to_exists(overview):
    paths = {w for w in _backticked(overview) if re.fullmatch(r"[\w./-]+\.md", w)}
    assert "docs/margin.md" in paths
    assert [p for p in sorted(paths) if not (Path(PROJECT_ROOT) / p).is_file()] == []
