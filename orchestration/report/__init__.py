"""The weekly founder report: read from the serving copy (queries), printed (terminal) and
written as one self-contained HTML file (html, charts)."""

from orchestration.report.html import render_html, write_html
from orchestration.report.queries import ReportError, WeeklyReport, read_report
from orchestration.report.terminal import print_report
from orchestration.report.weeks import IsoWeek

__all__ = [
    "IsoWeek",
    "ReportError",
    "WeeklyReport",
    "print_report",
    "read_report",
    "render_html",
    "write_html",
]


def definitions():
    """The weekly founder report asset."""
    from dagster import Definitions

    from orchestration.report.assets import founder_report

    return Definitions(assets=[founder_report])
