"""Scenario files: every mistake refused with its file, line and reason before anything runs; the
loader's lake file (interface: docs/decisions.md "What-if repricing"); the Dagster asset.

Expected lines are counted in the YAML written here; expected reasons are the words a person
needs (the key, the value, what is allowed)."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration import cli
from orchestration.paths import PROJECT_ROOT, SCENARIOS_DIR_ENV, DataPaths
from orchestration.scenarios.lake import write_scenario_rules
from orchestration.scenarios.load import check_files, resolve_scenario_argument
from orchestration.scenarios.parse import read_scenario
from orchestration.scenarios.schema import ScenarioError

GOOD = """\
name: cheaper-chat
description: chat on a smaller model
period: {start: 2026-10-01, end: 2026-11-01}
prices: 2026-11-15
rules:
  - feature: chat_assistant
    route: chat-primary
    provider: openai
    model: gpt-4.1-mini
    service_tier: batch
    cache_hit_rate: 0.25
    token_ratio: 1.1
  - route: code-primary
    provider: anthropic
    model: claude-3-5-haiku-20241022
  - feature: doc_summarize
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: Path, **kwargs) -> list[tuple[int | None, str]]:
    checked = check_files([path], lake=kwargs.get("lake"), warehouse=kwargs.get("warehouse"))
    assert not checked.scenarios, "a file with a mistake must not be loaded"
    for problem in checked.problems:
        assert problem.file == path.name  # outside the project: the file name
    return [(p.line, p.reason) for p in checked.problems]


def warehouse_with_traffic(path: Path, pairs: list[tuple[str | None, str | None]]) -> Path:
    """A warehouse holding only what the traffic check reads: the calls' features and routes."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_llm_calls (feature varchar, route varchar)")
        con.executemany("insert into marts.fct_llm_calls values (?, ?)", pairs)
    return path


TRAFFIC = [
    ("chat_assistant", "chat-primary"),
    ("chat_assistant", "chat-mini"),
    ("code_review", "code-primary"),
    ("doc_summarize", "summarize-primary"),
]


def test_a_good_file_reads_with_every_field(tmp_path):
    path = write(tmp_path, "good.yaml", GOOD)
    scenario = read_scenario(path)
    assert scenario.name == "cheaper-chat"
    assert (scenario.period_start, scenario.period_end) == (date(2026, 10, 1), date(2026, 11, 1))
    assert (scenario.price_basis, scenario.price_date) == ("date", date(2026, 11, 15))
    first, second, third = scenario.rules
    assert (first.index, first.line, first.feature, first.route) == (
        1,
        6,
        "chat_assistant",
        "chat-primary",
    )
    assert (first.service_tier, first.cache_hit_rate, first.token_ratio) == ("batch", 0.25, 1.1)
    assert (second.line, second.feature, second.route, second.service_tier) == (
        13,
        None,
        "code-primary",
        "observed",
    )
    assert (third.line, third.provider, third.model, third.cache_hit_rate, third.token_ratio) == (
        16,
        None,
        None,
        None,
        1.0,
    )


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name: x\nrules:\n  - feature: a\n    modle: gpt-4o\n", 4, ["unknown key 'modle'"]),
        ("name: x\nflavour: spicy\nrules:\n  - feature: a\n", 2, ["unknown key 'flavour'"]),
        ("name: x\nrules:\n  - feature: a\n    token_ratio: fast\n", 4, ["token_ratio", "number"]),
        ("name: x\nrules:\n  - feature: 12\n", 3, ["feature must be text", "quote it"]),
        (
            "name: x\nrules:\n  - feature: a\n    cache_hit_rate: -0.1\n",
            4,
            ["cache_hit_rate", "outside 0 to 1"],
        ),
        ("name: x\nrules:\n  - feature: a\n    cache_hit_rate: 1.5\n", 4, ["outside 0 to 1"]),
        (
            "name: x\nrules:\n  - feature: a\n    cache_hit_rate: always\n",
            4,
            ["observed or a rate"],
        ),
        (
            "name: x\nrules:\n  - feature: a\n    token_ratio: 0\n",
            4,
            ["token_ratio 0 must be more than 0"],
        ),
        ("name: x\nrules:\n  - feature: a\n    token_ratio: -2\n", 4, ["more than 0"]),
        ("name: x\nrules:\n  - feature: a\n    token_ratio: .nan\n", 4, ["finite"]),
        (
            "name: x\nrules:\n  - feature: a\n    service_tier: turbo\n",
            4,
            ["'turbo' is not one of", "batch"],
        ),
        ("name: x\nrules:\n  - feature: a\n    model: gpt-4o\n", 4, ["model without provider"]),
        (
            "name: x\nrules:\n  - feature: a\n  - route: r\n  - feature: a\n",
            5,
            ["rule 3", "line 3", "feature 'a'"],
        ),
        (
            "name: x\nrules:\n  - provider: openai\n    model: gpt-4o\n  - token_ratio: 2\n",
            5,
            ["every call", "line 3"],
        ),
        (
            "name: x\nperiod: last_week\nrules:\n  - feature: a\n",
            2,
            ["period must be last_full_month"],
        ),
        (
            "name: x\nperiod: {start: 2026-10-01, end: 2026-10-01}\nrules:\n  - feature: a\n",
            2,
            ["after start"],
        ),
        ("name: x\nperiod: {start: 2026-10-01}\nrules:\n  - feature: a\n", 2, ["missing: end"]),
        (
            "name: x\nperiod: {start: 2026-13-01, end: 2026-10-02}\nrules:\n  - feature: a\n",
            2,
            ["period start must be a date"],
        ),
        (
            "name: x\nprices: yesterday\nrules:\n  - feature: a\n",
            2,
            ["prices must be today, call_time or a date"],
        ),
        ("name: x\nrules: []\n", 2, ["rules is empty"]),
        ("name: x\nrules:\n  feature: a\n", 3, ["rules must be a list"]),
        ("name: x\n", 1, ["no rules"]),
        ("description: no name\nrules:\n  - feature: a\n", 1, ["no name"]),
        ("name: 'bad name; drop'\nrules:\n  - feature: a\n", 1, ["name 'bad name; drop'"]),
        ("name: x\nname: y\nrules:\n  - feature: a\n", 2, ["key 'name' given twice", "line 1"]),
        (
            "name: x\nrules:\n  - feature: a\n    route: [r1, r2]\n",
            4,
            ["route must be text, not a list"],
        ),
        ("name: x\nrules:\n  - feature: a\n   route: r\n", 4, ["not valid YAML"]),
    ],
)
def test_each_mistake_is_refused_with_its_line_and_reason(tmp_path, text, line, words):
    path = write(tmp_path, "bad.yaml", text)
    problems = problems_of(path)
    assert any(
        found == line and all(word in reason for word in words) for found, reason in problems
    ), problems


def test_every_mistake_of_a_file_is_listed_not_only_the_first(tmp_path):
    path = write(
        tmp_path,
        "bad.yaml",
        "name: x\nrules:\n  - feature: a\n    token_ratio: 0\n  - route: b\n    cache_hit_rate: 2\n",
    )
    assert [line for line, _ in problems_of(path)] == [4, 6]


def test_an_unknown_candidate_model_is_refused_naming_the_rule(tmp_path):
    path = write(
        tmp_path,
        "unknown.yaml",
        "name: x\nrules:\n  - feature: a\n  - route: b\n    provider: openai\n    model: gpt-9-ultra\n",
    )
    [(line, reason)] = problems_of(path)
    assert line == 4
    assert "rule 2" in reason and "'gpt-9-ultra'" in reason and "has no price" in reason


def test_a_candidate_priced_only_by_a_loaded_pricing_file_is_accepted(tmp_path):
    """A negotiated sheet or LiteLLM file prices raw (provider, model) strings the catalog does
    not know; the lake's price rules say so."""
    lake = tmp_path / "lake"
    rules = lake / "prices" / "rules"
    rules.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "rule_kind": ["period"],
                "provider_id": ["acme"],
                "model_id": ["acme-small-2"],
            }
        ),
        rules / "negotiated.parquet",
    )
    text = "name: x\nrules:\n  - provider: ACME\n    model: acme-small-2\n"
    path = write(tmp_path, "sheet.yaml", text)
    assert check_files([path], lake=lake, warehouse=None).problems == []
    other = write(tmp_path, "other.yaml", text.replace("acme-small-2", "acme-large-9"))
    [(line, reason)] = problems_of(other, lake=lake)
    assert line == 3 and "'acme-large-9'" in reason


def test_a_hostile_model_or_feature_is_refused_and_never_reaches_sql(tmp_path):
    warehouse = warehouse_with_traffic(tmp_path / "warehouse.duckdb", TRAFFIC)
    lake = tmp_path / "lake"
    (lake / "prices" / "rules").mkdir(parents=True)
    pq.write_table(
        pa.table({"rule_kind": ["period"], "provider_id": ["openai"], "model_id": ["x"]}),
        lake / "prices" / "rules" / "r.parquet",
    )
    hostile = "gpt-4o'; drop table marts.fct_llm_calls; --"
    path = write(
        tmp_path,
        "hostile.yaml",
        f"name: x\nrules:\n  - feature: \"a' or '1'='1\"\n  - route: chat-primary\n"
        f'    provider: openai\n    model: "{hostile}"\n',
    )
    problems = problems_of(path, lake=lake, warehouse=warehouse)
    assert (
        3,
        "rule 1: feature \"a' or '1'='1\" does not exist in the observed traffic "
        "(known features: chat_assistant, code_review, doc_summarize)",
    ) in problems
    assert any(
        line == 4 and hostile in reason and "has no price" in reason for line, reason in problems
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_llm_calls").fetchone()[0] == 4


@pytest.mark.parametrize(
    ("escaped", "shown"), [("\\u0000", "U+0000"), ("\\u202e", "U+202E"), ("\\u200b", "U+200B")]
)
def test_a_control_or_invisible_character_in_a_name_is_refused(tmp_path, escaped, shown):
    path = write(tmp_path, "ctl.yaml", f'name: x\nrules:\n  - feature: "chat{escaped}assistant"\n')
    [(line, reason)] = problems_of(path)
    assert line == 3 and f"control or invisible character ({shown})" in reason


def test_a_name_longer_than_200_characters_is_refused(tmp_path):
    path = write(tmp_path, "long.yaml", f"name: x\nrules:\n  - route: {'r' * 201}\n")
    [(line, reason)] = problems_of(path)
    assert line == 3 and "longer than 200 characters" in reason


def test_features_and_routes_must_exist_in_observed_traffic(tmp_path):
    warehouse = warehouse_with_traffic(tmp_path / "warehouse.duckdb", TRAFFIC)
    path = write(
        tmp_path,
        "traffic.yaml",
        """\
        name: x
        rules:
          - feature: chat_assistent
          - route: chat-primray
          - feature: code_review
            route: chat-mini
          - feature: chat_assistant
            route: chat-mini
        """,
    )
    problems = problems_of(path, warehouse=warehouse)
    assert [line for line, _ in problems] == [3, 4, 5]
    assert "feature 'chat_assistent' does not exist" in problems[0][1]
    assert "route 'chat-primray' does not exist" in problems[1][1]
    assert "chat-primary" in problems[1][1]  # the known routes are listed
    assert "no call of feature 'code_review' went through route 'chat-mini'" in problems[2][1]


def test_without_a_warehouse_the_traffic_check_is_skipped_and_says_so(tmp_path):
    path = write(tmp_path, "good.yaml", GOOD)
    checked = check_files([path], lake=None, warehouse=tmp_path / "warehouse.duckdb")
    assert [s.name for s in checked.scenarios] == ["cheaper-chat"]
    assert "no warehouse yet" in checked.traffic_skipped
    assert "not checked" in checked.traffic_skipped
    with_traffic = check_files(
        [path],
        lake=None,
        warehouse=warehouse_with_traffic(tmp_path / "w.duckdb", TRAFFIC),
    )
    assert with_traffic.traffic_skipped is None and with_traffic.problems == []


def test_a_scenario_name_is_unique_across_files(tmp_path):
    first = write(tmp_path, "a.yaml", GOOD)
    second = write(tmp_path, "b.yaml", GOOD)
    checked = check_files([first, second], lake=None, warehouse=None)
    assert [s.file.name for s in checked.scenarios] == ["a.yaml"]
    [problem] = checked.problems
    assert (problem.file, problem.line) == ("b.yaml", 1)
    assert "'cheaper-chat' is already used by a.yaml (line 1)" in problem.reason


def test_a_scenario_is_found_by_file_name_name_or_path(tmp_path):
    path = write(tmp_path, "cheap.yaml", GOOD)
    assert resolve_scenario_argument("cheap", tmp_path) == path.resolve()
    assert resolve_scenario_argument("cheap.yaml", tmp_path) == path.resolve()
    assert resolve_scenario_argument("cheaper-chat", tmp_path) == path.resolve()
    assert resolve_scenario_argument(str(path), tmp_path / "elsewhere") == path.resolve()
    with pytest.raises(ScenarioError, match="no such scenario.*scenarios there: cheap"):
        resolve_scenario_argument("dear", tmp_path)


def test_the_example_scenarios_in_the_project_are_valid():
    files = sorted((PROJECT_ROOT / "scenarios").glob("*.yaml"))
    assert files
    checked = check_files(files, lake=None, warehouse=None)
    assert checked.problems == []
    for scenario in checked.scenarios:
        assert scenario.shown_file.startswith("scenarios/")


# The lake file's columns and types, as the interface lists them.
INTERFACE_COLUMNS = [
    ("scenario_id", "VARCHAR"),
    ("scenario_file", "VARCHAR"),
    ("rule_index", "INTEGER"),
    ("rule_line", "INTEGER"),
    ("match_feature", "VARCHAR"),
    ("match_route", "VARCHAR"),
    ("candidate_provider", "VARCHAR"),
    ("candidate_model", "VARCHAR"),
    ("candidate_service_tier", "VARCHAR"),
    ("cache_hit_rate", "DOUBLE"),
    ("token_ratio", "DOUBLE"),
    ("period_start", "DATE"),
    ("period_end", "DATE"),
    ("price_basis", "VARCHAR"),
    ("price_date", "DATE"),
    ("assumptions", "VARCHAR"),
]


def lake_columns(path: Path) -> list[tuple[str, str]]:
    with duckdb.connect() as con:
        return [
            (name, kind)
            for name, kind, *_ in con.execute(
                "describe select * from read_parquet(?)", [str(path)]
            ).fetchall()
        ]


def test_the_lake_file_has_the_interface_columns_and_one_row_per_rule(tmp_path):
    path = write(tmp_path, "good.yaml", GOOD)
    other = write(
        tmp_path,
        "other.yaml",
        "name: later\nrules:\n  - provider: google\n    model: gemini-2.5-flash\n",
    )
    target = tmp_path / "lake" / "scenarios" / "scenario_rules.parquet"
    scenarios = check_files([path, other], lake=None, warehouse=None).scenarios
    assert write_scenario_rules(target, scenarios) == 4
    assert lake_columns(target) == INTERFACE_COLUMNS
    assert [p.name for p in target.parent.iterdir()] == ["scenario_rules.parquet"]  # no temp left
    rows = pq.read_table(target).to_pylist()
    assert [(r["scenario_id"], r["rule_index"], r["rule_line"]) for r in rows] == [
        ("cheaper-chat", 1, 6),
        ("cheaper-chat", 2, 13),
        ("cheaper-chat", 3, 16),
        ("later", 1, 3),
    ]
    first = rows[0]
    assert first["scenario_file"] == "good.yaml"  # outside the project: the file name
    assert (first["match_feature"], first["match_route"]) == ("chat_assistant", "chat-primary")
    assert (first["candidate_provider"], first["candidate_model"]) == ("openai", "gpt-4.1-mini")
    assert (first["candidate_service_tier"], first["cache_hit_rate"], first["token_ratio"]) == (
        "batch",
        0.25,
        1.1,
    )
    assert (first["period_start"], first["period_end"]) == (date(2026, 10, 1), date(2026, 11, 1))
    assert (first["price_basis"], first["price_date"]) == ("date", date(2026, 11, 15))
    third = rows[2]
    assert (third["match_route"], third["candidate_model"], third["cache_hit_rate"]) == (
        None,
        None,
        None,
    )
    assert (third["candidate_service_tier"], third["token_ratio"]) == ("observed", 1.0)
    later = rows[3]
    assert (later["period_start"], later["price_basis"], later["price_date"]) == (
        None,
        "today",
        None,
    )


def test_each_rule_says_its_assumptions_in_one_sentence(tmp_path):
    path = write(tmp_path, "good.yaml", GOOD)
    target = tmp_path / "rules.parquet"
    write_scenario_rules(target, check_files([path], lake=None, warehouse=None).scenarios)
    first, second, third = (r["assumptions"] for r in pq.read_table(target).to_pylist())
    assert first == (
        "Calls of feature chat_assistant on route chat-primary priced as openai gpt-4.1-mini at "
        "the batch tier; 25% of prompt tokens read from cache; token counts x 1.1 (the "
        "candidate's tokenizer), rounded half up; traffic from 2026-10-01 to 2026-11-01 (end "
        "exclusive); prices in force on 2026-11-15, not on each call's date."
    )
    assert second.startswith("Calls on route code-primary (every feature) priced as anthropic ")
    assert "at their own service tier; cache reads as observed; token counts as observed" in second
    assert third.startswith("Calls of feature doc_summarize (every route) priced on their own ")


def test_with_no_scenario_the_lake_file_exists_with_zero_rows_and_the_same_types(tmp_path):
    target = tmp_path / "lake" / "scenarios" / "scenario_rules.parquet"
    write_scenario_rules(target, [read_scenario(write(tmp_path, "g.yaml", GOOD))])
    assert write_scenario_rules(target, []) == 0  # replaced whole
    assert lake_columns(target) == INTERFACE_COLUMNS
    assert pq.read_table(target).num_rows == 0


def test_the_asset_loads_the_good_files_and_its_check_names_the_bad_one(tmp_path, monkeypatch):
    from dagster import materialize

    from orchestration.scenarios.assets import CHECK_NAME, scenario_rules_asset
    from orchestration.settings import Settings

    folder = tmp_path / "scenarios"
    write(folder, "good.yaml", GOOD)
    write(folder, "bad.yaml", "name: bad\nrules:\n  - feature: a\n    token_ratio: 0\n")
    monkeypatch.setenv(SCENARIOS_DIR_ENV, str(folder))
    root = tmp_path / "data"
    result = materialize(
        [scenario_rules_asset],
        resources={"settings": Settings(data_dir=str(root))},
        raise_on_error=False,
    )
    assert result.success
    rows = pq.read_table(DataPaths(root).scenario_rules).to_pylist()
    assert {r["scenario_id"] for r in rows} == {"cheaper-chat"}
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == CHECK_NAME and not evaluation.passed
    problems = evaluation.metadata["problems"].value
    assert problems == [
        "bad.yaml:4: rule 1: token_ratio 0 must be more than 0 (candidate "
        "tokens = observed tokens x ratio)"
    ]


def test_whatif_refuses_a_bad_file_before_anything_runs(tmp_path, data_dir, monkeypatch, capsys):
    folder = tmp_path / "scenarios"
    monkeypatch.setenv(SCENARIOS_DIR_ENV, str(folder))
    path = write(tmp_path, "typo.yaml", "name: t\nrules:\n  - feature: a\n    servce_tier: batch\n")
    assert cli.main(["whatif", str(path)]) == 2
    printed = capsys.readouterr().err
    assert "typo.yaml:4: rule 1: unknown key 'servce_tier'" in printed
    assert "nothing was run" in printed
    assert not data_dir.scenario_rules.exists()


def test_whatif_without_a_warehouse_says_to_build_first(tmp_path, data_dir, monkeypatch, capsys):
    monkeypatch.setenv(SCENARIOS_DIR_ENV, str(tmp_path / "scenarios"))
    path = write(tmp_path, "good.yaml", GOOD)
    assert cli.main(["whatif", str(path)]) == 2
    assert "llm-margin materialize" in capsys.readouterr().err
    assert not data_dir.scenario_rules.exists()


def test_whatif_refuses_an_unpriced_candidate_before_anything_else(
    tmp_path, data_dir, monkeypatch, capsys
):
    monkeypatch.setenv(SCENARIOS_DIR_ENV, str(tmp_path / "scenarios"))
    hostile = "gpt-4o'; drop table marts.fct_llm_calls; --"
    text = f'name: t\nrules:\n  - feature: chat_assistant\n    provider: openai\n    model: "{hostile}"\n'
    path = write(tmp_path, "hostile.yaml", text)
    assert cli.main(["whatif", str(path)]) == 2
    printed = capsys.readouterr().err
    assert "hostile.yaml:3: rule 1: candidate model" in printed
    assert "has no price" in printed and "llm-margin materialize" not in printed


def test_the_model_resolution_resolves_the_candidates_of_loaded_scenarios(tmp_path):
    """A candidate no call used yet is priced through the same resolution as real calls: it is
    resolved with the usage events' pairs, seen in 0 calls; a pair calls use is not repeated."""
    from orchestration.pricing.resolution import write_resolution

    lake = tmp_path / "lake"
    day = lake / "usage_events" / "event_date=2026-11-01"
    day.mkdir(parents=True)
    pq.write_table(pa.table({"provider": ["openai"], "model": ["gpt-4o"]}), day / "p.parquet")
    text = (
        "name: x\nrules:\n  - feature: a\n    provider: ' OpenAI '\n    model: gpt-4.1-mini\n"
        "  - feature: b\n    provider: openai\n    model: gpt-4o\n"
    )
    path = write(tmp_path, "s.yaml", text)
    write_scenario_rules(
        lake / "scenarios" / "scenario_rules.parquet",
        check_files([path], lake=None, warehouse=None).scenarios,
    )
    target, pairs, unresolved = write_resolution(lake)
    assert (pairs, unresolved) == (2, 0)
    rows = {(r["raw_provider"], r["raw_model"]): r for r in pq.read_table(target).to_pylist()}
    assert rows.keys() == {("openai", "gpt-4o"), ("openai", "gpt-4.1-mini")}
    assert rows[("openai", "gpt-4o")]["calls_seen"] == 1
    mini = rows[("openai", "gpt-4.1-mini")]
    assert (mini["calls_seen"], mini["is_resolved"], mini["price_model_id"]) == (
        0,
        True,
        "gpt-4.1-mini",
    )


def test_a_quoted_price_date_is_a_date_and_an_impossible_one_is_refused(tmp_path):
    path = write(tmp_path, "q.yaml", "name: x\nprices: '2026-06-01'\nrules:\n  - feature: a\n")
    assert read_scenario(path).price_date == date(2026, 6, 1)
    bad = write(tmp_path, "b.yaml", "name: x\nprices: 2026-02-30\nrules:\n  - feature: a\n")
    [(line, reason)] = problems_of(bad)
    assert line == 2 and "prices must be a date YYYY-MM-DD" in reason


def test_whatif_builds_only_the_what_if_models_without_unit_tests(monkeypatch):
    from orchestration.scenarios.whatif_run import dbt_whatif_command
    from orchestration.settings import DBT_UNIT_TESTS_ENV, Settings

    monkeypatch.delenv(DBT_UNIT_TESTS_ENV, raising=False)
    monkeypatch.delenv("LLM_MARGIN_DBT_EXCLUDE", raising=False)
    command = dbt_whatif_command(Settings().dbt_build_args(), "duckdb", Path("target"))
    selected = command[command.index("--select") + 1 : command.index("--project-dir")]
    assert selected == [
        "source:scenarios.scenario_rules+,+mart_whatif_feature_route",
        "source:scenarios.scenario_rules+,+mart_whatif_plan_margin",
    ]
    assert command[1:4] == ["build", "--exclude-resource-type", "unit_test"]
    assert command[command.index("--target") + 1] == "duckdb"
