"""The ``llm-margin`` command: generate sample data, materialize everything, print the report."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import traceback
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from orchestration.paths import (
    DATA_DIR_ENV,
    DBT_TARGET_ENV,
    DEFAULT_DBT_TARGET,
    DataDirError,
    DataPaths,
    check_data_dir,
    check_dbt_target,
    data_paths,
)


# Piped or captured output (make, CI, a log file) gets a wide console so tables are not cut at
# 80 columns, and text that is never wrapped: a path or a message broken across lines cannot be
# copied or searched for (tables still fit the width).
def _console(**kwargs) -> Console:
    screen = Console(**kwargs)
    return screen if screen.is_terminal else Console(width=160, soft_wrap=True, **kwargs)


console = _console()
err = _console(stderr=True)


def _has_files(directory: Path) -> bool:
    return directory.exists() and any(p.is_file() for p in directory.rglob("*"))


def cmd_generate(args: argparse.Namespace) -> int:
    from sample_data import generate

    paths = data_paths()
    # usage in any shape: contract files, OTLP trace files, LiteLLM spend logs
    full = [d for d in ("usage_events", "otel", "litellm") if _has_files(paths.landing_for(d))]
    if full:
        if args.if_empty:
            console.print(f"sample data: {paths.landing} already has usage events; not generating")
            return 0
        err.print(
            f"[red]error:[/red] {paths.landing_for(full[0])} already holds files; generating "
            "would mix two data sets. Point LLM_MARGIN_DATA_DIR at an empty directory or remove them."
        )
        return 2
    paths.ensure()
    options = {
        "seed": args.seed,
        "events": args.events,
        "days": args.days,
        "customers": args.customers,
        "start_date": args.start_date,
        "progress": not args.quiet,
    }
    if args.billing != "csv":
        options["billing"] = args.billing
    if args.billing == "both" and args.shape != "contract":
        err.print(
            "[red]error:[/red] --billing both writes two data directories of contract files; "
            "it does not combine with --shape"
        )
        return 2
    if args.billing == "both":
        twin = args.stripe_data_dir or paths.root.with_name(f"{paths.root.name}-stripe")
        options["stripe_data_dir"] = twin
    if args.shape != "contract":
        from sample_data.shapes import generate_shape

        result = generate_shape(paths.root, args.shape, **options)
        summary, written = result.generation, result.written
        faults = sum(len(v) for v in written.faults.values())
        console.print(
            f"generated {summary.calls:,} calls in {summary.tasks:,} tasks and wrote their "
            f"{result.records:,} final records as {args.shape} to {result.directory}: "
            f"{len(written.files):,} files, {faults} planted faults "
            f"({result.incomplete_streams:,} incomplete streams left out; positions in "
            f"{paths.truth / 'shape.json'})"
        )
        return 0
    summary = generate(paths.root, **options)
    console.print(
        f"generated {summary.events:,} usage records ({summary.calls:,} calls in {summary.tasks:,} tasks; "
        f"{summary.duplicates:,} re-deliveries, {summary.streams:,} streams, "
        f"{sum(summary.malformed.values()):,} malformed records) in {paths.landing}"
    )
    if args.billing == "both":
        console.print(
            f"revenue as billing CSV exports in {paths.landing / 'billing'}; the same data with "
            f"the revenue as Stripe objects in {options['stripe_data_dir']}"
        )
    return 0


def select_dbt_target(target: str | None) -> str | None:
    """Point dbt at ``target`` (a profiles.yml output) through ``$LLM_MARGIN_DBT_TARGET``.

    The dbt project and resource read it once, when ``orchestration.dbt.project`` is imported, so
    this must run first; returns an error message when the project was already imported for
    another target in this process."""
    if target is None:
        return None
    try:
        check_dbt_target(target)
    except ValueError as error:
        return escape(str(error))
    os.environ[DBT_TARGET_ENV] = target
    project = sys.modules.get("orchestration.dbt.project")
    if project is not None and project.llm_margin_project.target != target:
        return (
            f"the dbt project was already loaded for target {project.llm_margin_project.target!r} "
            f"in this process; run llm-margin again with --target {target}"
        )
    return None


MATERIALIZE_JOB = "llm_margin_materialize"


def cmd_materialize(args: argparse.Namespace) -> int:
    """Load landing and build everything in-process, on the persistent Dagster instance
    (``$DAGSTER_HOME``, shared with ``make dagster``). The full Dagster and dbt output goes to
    ``$LLM_MARGIN_DATA_DIR/logs/materialize-<UTC time>.log`` (``--verbose``: to the terminal);
    the terminal shows progress and a summary."""
    problem = select_dbt_target(args.target)
    if problem:
        err.print(f"[red]error:[/red] {problem}")
        return 2
    from orchestration.settings import SettingsError, reporting_currency

    try:
        reporting_currency()
    except SettingsError as error:
        err.print(f"[red]error:[/red] {escape(str(error))}")
        return 2

    from orchestration.data_lock import DataDirBusy, hold

    paths = data_paths()

    def waiting(holder) -> None:
        console.print(
            f"waiting for {escape(holder.describe())} to finish with {escape(str(paths.root))}"
        )

    try:
        with hold(
            paths.root,
            "llm-margin materialize",
            wait=args.wait,
            on_wait=waiting,
            advice="Wait for it to finish, or run llm-margin materialize --wait.",
        ):
            return _materialize_holding_the_lock(args, paths)
    except DataDirBusy as busy:
        err.print(f"[red]error:[/red] {escape(str(busy))}")
        return DATA_DIR_BUSY


# The exit code of `llm-margin materialize` when another process holds the data directory.
DATA_DIR_BUSY = 3


def _materialize_holding_the_lock(args: argparse.Namespace, paths: DataPaths) -> int:
    from orchestration.instance import dagster_home, ensure_dagster_home
    from orchestration.progress import LiveProgress, quiet_output

    paths.ensure()
    home, _ = ensure_dagster_home(dagster_home())
    started = time.monotonic()
    log_path = None
    if not args.verbose:
        log_path = paths.logs / f"materialize-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    target = os.environ.get(DBT_TARGET_ENV) or DEFAULT_DBT_TARGET
    console.print(
        f"materializing everything in {escape(str(paths.root))} (dbt target: {target}; "
        f"Dagster instance: {escape(str(home))})"
    )
    if log_path is not None:
        console.print(f"full log: {escape(str(log_path))}")

    output = contextlib.nullcontext(None) if log_path is None else quiet_output(log_path)
    with output as shown:
        screen = _progress_console(shown)
        progress = LiveProgress(screen) if screen is not None else None
        problem = None
        try:
            with progress or contextlib.nullcontext():
                result, landing = _run_materialize(args, paths, progress, log_path)
        except Exception as exc:  # e.g. the definitions did not load: the log has the traceback
            traceback.print_exc()
            problem = (str(exc).strip().splitlines() or [""])[0]
            problem = f"{type(exc).__name__}: {problem}"
    elapsed = time.monotonic() - started
    if problem is not None:
        err.print(
            f"[red]materialize failed[/red] after {elapsed:,.0f} s: {escape(problem)}"
            + (f"; traceback in {escape(str(log_path))}" if log_path else "")
        )
        return 1

    from orchestration.progress import RunSummary
    from orchestration.sensors.landing import loaded_state, record_loaded

    summary = RunSummary.of(result.all_events)
    dbt = progress.dbt if progress is not None else None
    _print_summary(summary, dbt)
    where = f"; full log: {escape(str(log_path))}" if log_path else ""
    if not result.success:
        for step, error in summary.failed_steps:
            err.print(f"[red]failed step[/red] {escape(step)}: {escape(error)}")
        err.print(
            f"[red]materialize failed[/red] after {elapsed:,.0f} s: a step or a blocking check "
            f"failed (run {result.run_id}){where}"
        )
        return 1
    # the landing sensor of `make dagster` must not build this landing state again
    record_loaded(paths, loaded_state(paths, landing, summary.loaded_files), result.run_id)
    console.print(
        f"[green]materialize succeeded[/green] in {elapsed:,.0f} s (run {result.run_id}){where}"
    )
    return 0


def _progress_console(shown) -> Console | None:
    if shown is None:  # --verbose: the logs are the progress
        return None
    return _console(file=shown)


def _run_materialize(args: argparse.Namespace, paths: DataPaths, progress, log_path):
    """One in-process run of every asset and check on the persistent instance; returns its
    result and the landing state it started from. Great Expectations is imported in a worker
    from the start, beside the run (orchestration/checks/gx_worker.py)."""
    from orchestration.checks.gx_worker import warm_validation

    with warm_validation():
        return _execute_materialize(args, paths, progress, log_path)


def _execute_materialize(args: argparse.Namespace, paths: DataPaths, progress, log_path):
    from dagster import Definitions, colored_console_logger, define_asset_job

    from orchestration.definitions import defs
    from orchestration.instance import cli_run_tags, fail_abandoned_cli_runs, persistent_instance
    from orchestration.progress import DbtLineFollower, progress_logger
    from orchestration.sensors.landing import snapshot_landing

    instance = persistent_instance()
    say = progress.console.print if progress is not None else print
    for run_id in fail_abandoned_cli_runs(instance):
        say(f"marked run {run_id} failed and freed its pool slots: its process is gone")
    landing = snapshot_landing(paths)
    loggers = {"console": colored_console_logger}
    run_config: dict = {"loggers": {"console": {"config": {"log_level": args.log_level}}}}
    if progress is not None:
        loggers["progress"] = progress_logger(progress.on_event)
        run_config["loggers"]["progress"] = {}
    job = Definitions(
        assets=list(defs.assets or []),
        asset_checks=list(defs.asset_checks or []),
        resources=defs.resources,
        loggers=loggers,
        jobs=[
            define_asset_job(
                MATERIALIZE_JOB, description="Everything, from `llm-margin materialize`."
            )
        ],
    ).resolve_job_def(MATERIALIZE_JOB)
    follower = None
    if progress is not None and log_path is not None:
        follower = DbtLineFollower(log_path, progress.on_dbt_line)
        follower.start()
    try:
        with instance:
            result = job.execute_in_process(
                run_config=run_config,
                instance=instance,
                raise_on_error=False,
                tags=cli_run_tags(),
            )
    finally:
        if follower is not None:
            follower.stop()
    return result, landing


def _print_summary(summary, dbt) -> None:
    read = f", {summary.records_read:,} usage records read" if summary.records_read else ""
    rows = [
        (
            "landing",
            f"{len(summary.loaded_files):,} new files loaded{read}, "
            f"{summary.records_quarantined:,} records quarantined",
        ),
    ]
    models = sum(n for step, n in summary.materializations.items() if "dbt" in step)
    if dbt is not None and dbt.total:
        problems = dbt.count("ERROR", "FAIL")
        rows.append(
            (
                "dbt",
                f"{len(dbt.done):,} of {dbt.total:,} nodes built or tested, {models:,} models "
                f"materialized, {dbt.count('WARN')} warnings, {problems} errors",
            )
        )
    else:
        rows.append(("dbt", f"{models:,} models materialized"))
    checks = (
        f"{summary.checks_passed:,} passed, {len(summary.checks_warned)} warned, "
        f"{len(summary.checks_failed)} failed"
    )
    rows.append(("checks", checks))
    for name, text in rows:
        console.print(f"  {name:<8} {text}")
    if dbt is not None:
        for _, problem in sorted(dbt.problems.items()):
            err.print(f"  [red]dbt[/red]      {escape(problem)} (the error is in the full log)")
    for label, names in (
        ("[yellow]warned[/yellow]", summary.checks_warned),
        ("[red]failed[/red]", summary.checks_failed),
    ):
        if names:
            err.print(
                f"  {label}   {escape(', '.join(names))} (details in the check metadata, "
                "`make dagster`)"
            )


def cmd_report(args: argparse.Namespace) -> int:
    from orchestration.report import IsoWeek, ReportError, print_report, read_report, write_html
    from orchestration.serving.publish import serving_file

    paths = data_paths()
    try:
        week = None if args.week is None else IsoWeek.parse(args.week)
        report = read_report(serving_file(paths.serving), week)
    except (ReportError, ValueError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    print_report(report, console)
    path = write_html(report, paths.reports)
    console.print(f"HTML report: {escape(str(path))}")
    return 0


def cmd_whatif(args: argparse.Namespace) -> int:
    """Check, load and build one what-if scenario, print the comparison and write its page."""
    from orchestration.data_lock import DataDirBusy, hold
    from orchestration.paths import scenarios_dir
    from orchestration.report.whatif import WhatIfError
    from orchestration.report.whatif_page import print_whatif, write_whatif_html
    from orchestration.scenarios.load import resolve_scenario_argument
    from orchestration.scenarios.parse import read_scenario
    from orchestration.scenarios.references import candidate_problems
    from orchestration.scenarios.schema import ScenarioError
    from orchestration.scenarios.whatif_run import (
        WhatIfRunError,
        build_whatif_models,
        check_and_load,
        publish,
        read_comparison,
    )

    paths = data_paths()
    folder = scenarios_dir()
    try:
        path = resolve_scenario_argument(args.scenario, folder)
        # its own mistakes and unpriced candidates, before waiting for the data directory
        problems = candidate_problems(read_scenario(path), paths.lake)
        if problems:
            raise ScenarioError(problems)
    except ScenarioError as error:
        _print_scenario_problems(error)
        return 2
    if not paths.warehouse.exists():
        err.print(
            f"[red]error:[/red] no warehouse in {escape(str(paths.root))}: run "
            "`llm-margin materialize` first (a what-if replays the calls it holds)"
        )
        return 2

    def say(line: str) -> None:
        console.print(escape(line))

    try:
        with hold(
            paths.root,
            "llm-margin whatif",
            wait=args.wait,
            on_wait=lambda holder: say(
                f"waiting for {holder.describe()} to finish with {paths.root}"
            ),
            advice="Wait for it to finish, or run llm-margin whatif --wait.",
        ):
            loaded = check_and_load(path, folder, paths)
            if loaded.traffic_skipped:
                say(f"note: {loaded.traffic_skipped}")
            for problem in loaded.others_left_out:
                err.print(f"[yellow]not loaded[/yellow] {escape(str(problem))}")
            build_whatif_models(paths, say)
            publish(paths, say)
            report = read_comparison(paths, loaded.scenario)
    except DataDirBusy as busy:
        err.print(f"[red]error:[/red] {escape(str(busy))}")
        return DATA_DIR_BUSY
    except ScenarioError as error:
        _print_scenario_problems(error)
        return 2
    except (WhatIfRunError, WhatIfError) as error:
        err.print(f"[red]error:[/red] {escape(str(error))}")
        return 1
    print_whatif(report, console)
    page = write_whatif_html(report, paths.reports)
    console.print(f"HTML page: {escape(str(page))}")
    return 0


def _print_scenario_problems(error) -> None:
    err.print("[red]error:[/red] the scenario was refused; nothing was run:")
    for problem in error.problems:
        err.print(f"  {escape(str(problem))}")


def cmd_serving_postgres(args: argparse.Namespace) -> int:
    """A local PostgreSQL for the PostgreSQL serving target (docs/serving.md)."""
    from orchestration.bind import BindHostError
    from orchestration.serving import postgres_local
    from orchestration.serving.postgres_cluster import HOST, PostgresServerError
    from orchestration.settings import SERVING_POSTGRES_URL_ENV, Settings, SettingsError

    paths = data_paths()
    try:
        if args.action == "stop":
            console.print(escape(postgres_local.stop(paths)))
            return 0
        if args.action == "status":
            server, running = postgres_local.status(paths)
            if server is None:
                console.print(
                    f"no local PostgreSQL in {escape(str(postgres_local.local_dir(paths)))} "
                    "(make serve-postgres creates one)"
                )
                return 1
            state = "running" if running else "not running (make serve-postgres starts it)"
            console.print(f"local PostgreSQL on {HOST}:{server.port}: {state}")
            return 0 if running else 1
        reader_role = Settings().serving_postgres_reader()
        server, what = postgres_local.start(paths, reader_role, args.port)
    except (PostgresServerError, SettingsError, BindHostError) as error:
        err.print(f"[red]error:[/red] {escape(str(error))}")
        return 1
    console.print(
        f"local PostgreSQL {what} on {HOST}:{server.port} "
        f"(data in {escape(str(server.pgdata))}, log {escape(str(server.log_file))})"
    )
    if args.port is not None and args.port != server.port:
        console.print(f"(it was created on port {server.port} and keeps it)")
    if what != "already running" and not args.no_publish:
        code = _publish_existing_serving_copy(paths, server.url, server.reader_role)
        if code:
            return code
    console.print(
        "\nPublish the marts and audit tables into it after every build: set this in the shell "
        "(or the environment of `make dagster`) before `make run`:\n"
    )
    print(f"export {SERVING_POSTGRES_URL_ENV}='{server.url}'")
    console.print(
        f"\nConnect a BI tool (Metabase, Grafana, Tableau, Power BI, psql) read-only as "
        f"[bold]{postgres_local.BI_USER}[/bold], a member of {server.reader_role}:\n"
        f"  host {HOST}  port {server.port}  database {postgres_local.DATABASE}  "
        f"user {postgres_local.BI_USER}  password {server.bi_password}  (no SSL)\n"
        f"  psql '{server.bi_url}'\n"
        "Every build with the variable set replaces the tables (docs/serving.md); "
        "`make stop-postgres` stops the server."
    )
    return 0


def _publish_existing_serving_copy(paths: DataPaths, url: str, reader_role: str) -> int:
    """Publish the serving copy a build left, so a BI tool sees tables at once."""
    from orchestration.serving.postgres_publish import PostgresPublishError, publish_to_postgres
    from orchestration.serving.publish import serving_file

    source = serving_file(paths.serving)
    if not source.exists():
        console.print("no serving copy yet: the first build (make run) publishes the tables")
        return 0
    from orchestration.dbt.project import llm_margin_project
    from orchestration.serving.descriptions import descriptions_from_manifest

    console.print(f"publishing the serving copy of the last build ({escape(str(source))}):")
    try:
        publish_to_postgres(
            source,
            url,
            reader_role=reader_role,
            descriptions=descriptions_from_manifest(llm_margin_project.manifest_path),
            log=lambda line: console.print("  " + escape(line)),
        )
    except PostgresPublishError as error:
        err.print(f"[red]error:[/red] {escape(str(error))}")
        return 1
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    """MetricFlow's ``mf`` over the semantic layer, reading the serving copy read-only."""
    from orchestration.semantic_layer import SemanticLayerError, run_mf

    try:
        return run_mf(args.mf_arguments or ["--help"])
    except SemanticLayerError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2


def cmd_plan_calculator(args: argparse.Namespace) -> int:
    """Before launch: a plan file's AI cost per customer; with --replay, a plan's real customers
    at a proposed price or included-task cap (orchestration/plans/)."""
    from orchestration.plans.calculator import CalculatorError, run_plan, run_replay
    from orchestration.plans.output import print_plan, print_replay
    from orchestration.plans.plan_file import PlanFileError, load_plan

    try:
        plan = load_plan(args.plan_file)
        if args.replay is not None:
            print_replay(
                run_replay(
                    plan,
                    data_paths(),
                    args.replay,
                    price_usd=args.price,
                    included_tasks=args.included_tasks,
                ),
                console,
            )
        else:
            if args.price is not None or args.included_tasks is not None:
                err.print("[red]error:[/red] --price and --included-tasks go with --replay PLAN_ID")
                return 2
            print_plan(run_plan(plan, data_paths()), console)
    except PlanFileError as error:
        for problem in error.problems:
            err.print(f"[red]error:[/red] {escape(str(problem))}")
        return 2
    except CalculatorError as error:
        err.print(f"[red]error:[/red] {escape(str(error))}")
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llm-margin",
        description="LLM cost attribution and AI gross margin warehouse. "
        f"Works on ${DATA_DIR_ENV} (default: <project>/data).",
    )
    parser.add_argument("--data-dir", type=Path, help=f"data directory (overrides ${DATA_DIR_ENV})")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser(
        "generate", help="write realistic sample landing files (deterministic per seed)"
    )
    gen.add_argument(
        "--events", type=int, default=100_000, help="approximate number of call attempts"
    )
    gen.add_argument("--days", type=int, default=60, help="days of traffic")
    gen.add_argument("--customers", type=int, default=40)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument(
        "--start-date", type=date.fromisoformat, default=None, help="first day (YYYY-MM-DD)"
    )
    gen.add_argument(
        "--if-empty", action="store_true", help="do nothing when landing already has events"
    )
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.add_argument(
        "--shape",
        choices=["contract", "otel", "litellm"],
        default="contract",
        help="contract: usage-event files in landing/usage_events; otel: the same traffic as "
        "OTLP trace files in landing/otel; litellm: as LiteLLM spend logs in landing/litellm",
    )
    gen.add_argument(
        "--billing",
        choices=["csv", "stripe", "both"],
        default="stripe",
        help="the revenue side: csv: billing CSV exports in landing/billing; stripe: Stripe API "
        "objects in landing/stripe (in EUR and GBP too) and ECB rates in landing/fx; both: the "
        "stripe revenue as CSV exports in the data directory and as Stripe objects in a second "
        "one (--stripe-data-dir), everything else identical",
    )
    gen.add_argument(
        "--stripe-data-dir",
        type=Path,
        default=None,
        help="with --billing both: where the Stripe form goes (default: <data dir>-stripe)",
    )
    gen.set_defaults(func=cmd_generate)

    mat = sub.add_parser(
        "materialize",
        help="load landing files and build every model, in-process, on the Dagster instance in "
        "$DAGSTER_HOME (default: <data dir>/dagster_home); full logs in <data dir>/logs/",
    )
    mat.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="Dagster log level (of the log file, or of the terminal with --verbose)",
    )
    mat.add_argument(
        "--verbose",
        action="store_true",
        help="stream the full Dagster and dbt logs to the terminal instead of a log file",
    )
    mat.add_argument(
        "--wait",
        action="store_true",
        help="when another process is writing the data directory (another materialize, a "
        "Dagster run), wait for it instead of exiting with an error",
    )
    mat.add_argument(
        "--target",
        default=None,
        help=f"dbt target in profiles.yml: duckdb (default) or spark (needs the spark extra); "
        f"sets ${DBT_TARGET_ENV}",
    )
    mat.set_defaults(func=cmd_materialize)

    rep = sub.add_parser(
        "report",
        help="the weekly founder report: print it and write reports/founder-report-YYYY-Www.html",
    )
    rep.add_argument(
        "--week",
        default=None,
        metavar="YYYY-Www",
        help="ISO week, e.g. 2025-W07 (default: the latest week with usage data)",
    )
    rep.set_defaults(func=cmd_report)

    wif = sub.add_parser(
        "whatif",
        help="what-if repricing: check a scenario file, replay the real calls of its period on "
        "its candidates, print actual vs scenario cost by feature and route and margin by plan, "
        "and write reports/whatif-<scenario>.html (docs/decisions.md)",
    )
    wif.add_argument(
        "scenario",
        metavar="SCENARIO",
        help="a scenario in scenarios/ ($LLM_MARGIN_SCENARIOS_DIR) by file name or name, or a path",
    )
    wif.add_argument(
        "--wait",
        action="store_true",
        help="when another process is writing the data directory, wait for it",
    )
    wif.set_defaults(func=cmd_whatif)

    pg = sub.add_parser(
        "serving-postgres",
        help="a local PostgreSQL in <data dir>/postgres for the PostgreSQL serving target: "
        "start (create it the first time; prints the URL to set and how to connect a BI tool), "
        "stop, status",
    )
    pg.add_argument("action", choices=["start", "stop", "status"], nargs="?", default="start")
    pg.add_argument(
        "--port",
        type=int,
        default=None,
        help="TCP port on 127.0.0.1 when the server is created (default 5433); kept afterwards",
    )
    pg.add_argument(
        "--no-publish",
        action="store_true",
        help="start: do not publish the last build's serving copy into a server it just "
        "created or started",
    )
    pg.set_defaults(func=cmd_serving_postgres)

    met = sub.add_parser(
        "metrics",
        help="query the semantic layer (MetricFlow's mf) over the serving copy, read-only, e.g. "
        "llm-margin metrics query --metrics gross_margin --group-by customer_month__plan_id "
        "(docs/semantic-layer.md)",
        description="Runs `mf ARGUMENTS` (dbt-metricflow) on the dbt project's metrics, reading "
        "<data dir>/serving/llm_margin.duckdb read-only: never the warehouse a build writes. "
        "`llm-margin metrics list metrics` lists the metrics, `llm-margin metrics query --help` "
        "the query options (docs/semantic-layer.md).",
    )
    met.add_argument(
        "mf_arguments",
        nargs=argparse.REMAINDER,
        metavar="ARGUMENTS",
        help="mf's command and options: query, list metrics, list dimensions --metrics NAME, ...",
    )
    met.set_defaults(func=cmd_metrics)

    plan = sub.add_parser(
        "plan-calculator",
        help="will a plan make money? AI cost per customer at p50/p90/p99, margin, breakeven "
        "usage and the price for the target margin, from a plan file (plans/*.yaml); with "
        "--replay PLAN_ID, a plan's real customers at a proposed price or task cap",
    )
    plan.add_argument("plan_file", type=Path, metavar="PLAN.yaml")
    plan.add_argument(
        "--replay",
        metavar="PLAN_ID",
        default=None,
        help="after launch: replay the real customers of this plan (last full month)",
    )
    plan.add_argument(
        "--price", type=float, default=None, help="with --replay: the proposed monthly price (USD)"
    )
    plan.add_argument(
        "--included-tasks",
        type=int,
        default=None,
        help="with --replay: tasks included per customer-month (tasks beyond are not served)",
    )
    plan.set_defaults(func=cmd_plan_calculator)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # options before mf's command (`llm-margin metrics --version`) are mf's
        if args.command != "metrics":
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.mf_arguments = [*unknown, *args.mf_arguments]
    if args.data_dir is not None:
        os.environ[DATA_DIR_ENV] = str(args.data_dir.expanduser().resolve())
    try:
        os.environ[DATA_DIR_ENV] = str(data_paths().root)  # always absolute for dbt
        if getattr(args, "stripe_data_dir", None) is not None:
            check_data_dir(args.stripe_data_dir.expanduser().resolve(), "--stripe-data-dir")
    except DataDirError as error:
        err.print(f"[red]error:[/red] {escape(str(error))}")
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
