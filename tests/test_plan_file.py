"""Plan files are validated before anything runs: every mistake named with its file, line and
reason (orchestration/plans/plan_file.py), the example in plans/ is valid, and the CLI refuses a
bad file with exit code 2 without touching the data directory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orchestration import cli
from orchestration.paths import PROJECT_ROOT
from orchestration.plans.plan_file import (
    Feature,
    Plan,
    PlanFileError,
    Tasks,
    Tokens,
    check_against_warehouse,
    load_plan,
)

GOOD = """\
name: team-pro
price_usd: 49
target_gross_margin: 0.7
features:
  - feature: chat_assistant
    tasks_per_customer_month: {median: 120, p90: 600}
    provider: openai
    model: gpt-4o-mini
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path: Path, text: str) -> list[tuple[int, str]]:
    path = write(tmp_path, text)
    with pytest.raises(PlanFileError) as caught:
        load_plan(path)
    assert all(p.file == str(path) for p in caught.value.problems)
    return [(p.line, p.reason) for p in caught.value.problems]


def test_a_good_plan_loads_with_defaults(tmp_path):
    plan = load_plan(write(tmp_path, GOOD))
    assert plan == Plan(
        file=str(tmp_path / "plan.yaml"),
        name="team-pro",
        price_usd=49.0,
        target_gross_margin=0.7,
        seed=0,
        customers=10_000,
        features=(
            Feature(
                feature="chat_assistant",
                tasks=Tasks(median=120.0, p90=600.0),
                provider="openai",
                model="gpt-4o-mini",
                service_tier=None,
                trace=None,
                tokens=None,
                line=5,
            ),
        ),
    )


def test_the_example_plan_is_valid():
    plan = load_plan(PROJECT_ROOT / "plans" / "team-plan.yaml")
    assert [f.feature for f in plan.features] == [
        "chat_assistant",
        "doc_summarize",
        "meeting_notes",
    ]
    assert plan.features[1].tasks == Tasks(like_plan="pro")
    assert plan.features[2].tokens == Tokens(prompt=6000, completion=700, calls_per_task=2)


def test_negative_tasks(tmp_path):
    found = problems(tmp_path, GOOD.replace("{median: 120, p90: 600}", "{median: -3, p90: 600}"))
    assert len(found) == 1 and found[0][0] == 6
    assert "median must be 0 or more" in found[0][1] and "-3" in found[0][1]


def test_p90_below_median(tmp_path):
    found = problems(tmp_path, GOOD.replace("p90: 600", "p90: 60"))
    assert found == [(6, "p90 (60) is below the median (120)")]


def test_unknown_model(tmp_path):
    found = problems(tmp_path, GOOD.replace("gpt-4o-mini", "gpt-17-ultra"))
    assert len(found) == 1 and found[0][0] == 8
    assert found[0][1].startswith("unknown model 'gpt-17-ultra' of provider 'openai'")


def test_unknown_keys_at_every_level(tmp_path):
    text = GOOD.replace("price_usd: 49", "price_usd: 49\ncurrency: EUR").replace(
        "    model: gpt-4o-mini", "    model: gpt-4o-mini\n    route: chat-mini"
    )
    text = text.replace("p90: 600}", "p90: 600, mean: 200}")
    found = problems(tmp_path, text)
    assert [line for line, _ in found] == [3, 7, 10]
    assert "unknown key 'currency' in the plan" in found[0][1]
    assert "unknown key 'mean' in tasks_per_customer_month" in found[1][1]
    assert "unknown key 'route' in a feature" in found[2][1]


def test_missing_and_mistyped_values(tmp_path):
    text = """\
    name: team-pro
    price_usd: free
    target_gross_margin: 70
    features:
      - feature: chat_assistant
        tasks_per_customer_month: {median: 120}
        model: gpt-4o-mini
    """
    found = problems(tmp_path, text)
    lines = dict(found)
    assert "price_usd must be a number" in lines[2]
    assert "target_gross_margin must be a fraction" in lines[3]
    assert "the feature has no 'provider'" in lines[5]
    assert "needs both median and p90" in lines[6]


def test_duplicate_key_and_duplicate_feature(tmp_path):
    text = GOOD + GOOD.split("features:\n")[1]
    text = text.replace("price_usd: 49", "price_usd: 49\nprice_usd: 59")
    found = problems(tmp_path, text)
    assert (3, "key 'price_usd' appears twice in the plan") in found
    assert any(line == 10 and "listed twice (first on line 6)" in r for line, r in found)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('"chat\\nassistant"', "holds the control or invisible character U+000A"),
        ('"chat\\u202eassistant"', "holds the control or invisible character U+202E"),
        ('"chat\\u0000"', "holds the control or invisible character U+0000"),
        ('"' + "x" * 201 + '"', "is longer than 200 characters"),
        ('" chat"', "starts or ends with white space"),
    ],
)
def test_hostile_strings_are_refused(tmp_path, value, reason):
    found = problems(tmp_path, GOOD.replace("feature: chat_assistant", f"feature: {value}"))
    assert found == [(5, f"feature {reason}; refused")]


def test_hostile_plan_names_are_refused(tmp_path):
    found = problems(tmp_path, GOOD.replace("name: team-pro", 'name: "x\'; drop table y; --"'))
    assert len(found) == 1 and found[0][0] == 1 and "must be 1-64 letters" in found[0][1]


def test_yaml_aliases_and_tags_are_refused(tmp_path):
    aliased = GOOD.replace("price_usd: 49", "price_usd: &p 49\nseed: *p")
    assert problems(tmp_path, aliased) == [(3, "YAML aliases (*name) are not allowed")]
    tagged = GOOD.replace("name: team-pro", "name: !!python/object:os.system team-pro")
    found = problems(tmp_path, tagged)
    assert len(found) == 1 and found[0][0] == 1 and "YAML tag" in found[0][1]


def test_broken_yaml_names_its_line(tmp_path):
    found = problems(tmp_path, GOOD.replace("p90: 600}", "p90: 600"))
    assert len(found) == 1 and "not valid YAML" in found[0][1] and found[0][0] >= 6


def test_a_feature_that_does_not_exist(tmp_path):
    text = GOOD + (
        "  - feature: chat_asistant\n"
        "    tasks_per_customer_month: {median: 5, p90: 9}\n"
        "    provider: openai\n"
        "    model: gpt-4o\n"
        "  - feature: brand_new\n"
        "    tasks_per_customer_month: {like_plan: platinum}\n"
        "    provider: openai\n"
        "    model: gpt-4o\n"
        "    tokens: {prompt: 100, completion: 20}\n"
        "  - feature: traced\n"
        "    tasks_per_customer_month: {median: 5, p90: 9}\n"
        "    provider: openai\n"
        "    model: gpt-4o\n"
        "    trace: azure-code\n"
    )
    plan = load_plan(write(tmp_path, text))
    with pytest.raises(PlanFileError) as caught:
        check_against_warehouse(
            plan, observed_features={"chat_assistant"}, plan_ids={"pro"}, traces_present=set()
        )
    found = [(p.line, p.reason) for p in caught.value.problems]
    assert found[0] == (
        9,
        "feature 'chat_asistant' does not exist: no task of it in the warehouse's period, and "
        "the plan gives neither tokens nor a trace for it",
    )
    assert (
        found[1][0] == 13 and "like_plan 'platinum' is not a plan in the warehouse" in found[1][1]
    )
    assert found[2][0] == 18 and "trace 'azure-code' is not in ../shared/datasets/" in found[2][1]
    assert len(found) == 3
    # with the trace present, the traced feature exists
    with pytest.raises(PlanFileError) as caught:
        check_against_warehouse(
            plan,
            observed_features={"chat_assistant"},
            plan_ids={"pro", "platinum"},
            traces_present={"azure-code"},
        )
    assert [p.line for p in caught.value.problems] == [9]


def test_cli_refuses_a_bad_plan_before_anything_runs(tmp_path, data_dir, capsys):
    path = write(tmp_path, GOOD.replace("p90: 600", "p90: 6"))
    before = sorted(p.relative_to(data_dir.root) for p in data_dir.root.rglob("*"))
    assert cli.main(["plan-calculator", str(path)]) == 2
    printed = capsys.readouterr().err
    assert f"{path}:6: p90 (6) is below the median (120)" in " ".join(printed.split())
    assert sorted(p.relative_to(data_dir.root) for p in data_dir.root.rglob("*")) == before


def test_cli_price_and_cap_need_replay(tmp_path, data_dir, capsys):
    path = write(tmp_path, GOOD)
    assert cli.main(["plan-calculator", str(path), "--price", "10"]) == 2
    assert "--price and --included-tasks go with --replay" in capsys.readouterr().err
