"""The ``llm-margin`` command: generate sample data, materialize everything, print the report."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from orchestration.paths import DATA_DIR_ENV, DBT_TARGET_ENV, DataPaths, data_paths

# Piped or captured output (make, CI) gets a wide console so tables are not cut at 80 columns.
console = Console() if Console().is_terminal else Console(width=160)
err = Console(stderr=True)


def _has_files(directory: Path) -> bool:
    return directory.exists() and any(p.is_file() for p in directory.rglob("*"))


def cmd_generate(args: argparse.Namespace) -> int:
    from orchestration.generate import generate

    paths = data_paths()
    if _has_files(paths.landing_for("usage_events")):
        if args.if_empty:
            console.print(f"sample data: {paths.landing} already has usage events; not generating")
            return 0
        err.print(
            f"[red]error:[/red] {paths.landing_for('usage_events')} already holds files; generating "
            "would mix two data sets. Point LLM_MARGIN_DATA_DIR at an empty directory or remove them."
        )
        return 2
    paths.ensure()
    summary = generate(
        paths.root,
        seed=args.seed,
        events=args.events,
        days=args.days,
        customers=args.customers,
        start_date=args.start_date,
        progress=not args.quiet,
    )
    console.print(
        f"generated {summary.events:,} usage records ({summary.calls:,} calls in {summary.tasks:,} tasks; "
        f"{summary.duplicates:,} re-deliveries, {summary.streams:,} streams, "
        f"{sum(summary.malformed.values()):,} malformed records) in {paths.landing}"
    )
    return 0


def select_dbt_target(target: str | None) -> str | None:
    """Point dbt at ``target`` (a profiles.yml output) through ``$LLM_MARGIN_DBT_TARGET``.

    The dbt project and resource read it once, when ``orchestration.dbt.project`` is imported, so
    this must run first; returns an error message when the project was already imported for
    another target in this process."""
    if target is None:
        return None
    os.environ[DBT_TARGET_ENV] = target
    project = sys.modules.get("orchestration.dbt.project")
    if project is not None and project.llm_margin_project.target != target:
        return (
            f"the dbt project was already loaded for target {project.llm_margin_project.target!r} "
            f"in this process; run llm-margin again with --target {target}"
        )
    return None


def cmd_materialize(args: argparse.Namespace) -> int:
    problem = select_dbt_target(args.target)
    if problem:
        err.print(f"[red]error:[/red] {problem}")
        return 2

    from dagster import DagsterInstance, materialize

    from orchestration.dbt.project import llm_margin_project
    from orchestration.definitions import defs

    paths = data_paths().ensure()
    console.print(
        f"materializing everything in {paths.root} (dbt target: {llm_margin_project.target})"
    )
    assets = list(defs.assets or []) + list(defs.asset_checks or [])
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            assets,
            resources=defs.resources,
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}},
        )
    from dagster import AssetCheckSeverity

    evaluations = [e for e in result.get_asset_check_evaluations() if not e.passed]
    for severity, label in (
        (AssetCheckSeverity.WARN, "[yellow]warning[/yellow]"),
        (AssetCheckSeverity.ERROR, "[red]failed check[/red]"),
    ):
        names = [
            f"{e.asset_key.to_user_string()}:{e.check_name}"
            for e in evaluations
            if e.severity == severity
        ]
        if names:
            err.print(
                f"{label}: {', '.join(names)} (details in the check metadata, `make dagster`)"
            )
    if not result.success:
        err.print(
            "[red]materialize failed[/red]: a step or a blocking check failed (see the log above)"
        )
        return 1
    console.print("[green]materialize succeeded[/green]")
    return 0


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
    gen.set_defaults(func=cmd_generate)

    mat = sub.add_parser("materialize", help="load landing files and build every model, in-process")
    mat.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.data_dir is not None:
        os.environ[DATA_DIR_ENV] = str(args.data_dir.expanduser().resolve())
    os.environ[DATA_DIR_ENV] = str(DataPaths(data_paths().root).root)  # always absolute for dbt
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
