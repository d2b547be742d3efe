"""Headless Chromium for the tests of what a person sees (tests/test_browser_*.py).

A pytest plugin (registered in conftest.py): the system Chromium (Debian's package ``chromium``;
``make test`` installs it when missing, ``LLM_MARGIN_CHROMIUM`` names another Chrome or Chromium)
driven by Playwright, which waits for what a page's scripts render. Playwright's own browser
download is never used. A missing browser fails the tests that need it: it never skips them.

Screenshots are test artifacts: ``test-artifacts/browser/<screen>.png`` in the checkout (or
``$LLM_MARGIN_TEST_ARTIFACTS/browser/``), emptied at the first screenshot of a session, one file
per screen, plus ``<test>-failed.png`` of the page a failing test had open. The terminal summary
says where they are.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.paths import PROJECT_ROOT

CHROMIUM_ENV = "LLM_MARGIN_CHROMIUM"
ARTIFACTS_ENV = "LLM_MARGIN_TEST_ARTIFACTS"
# Long enough for a page on a loaded 2-core machine; a page that never shows fails after it.
WAIT_MS = 60_000
# Without these Chromium keeps calling Google's hosts, which a closed network refuses.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-first-run",
]
VIEWPORT = {"width": 1600, "height": 1000}


def chromium_executable() -> str:
    """The Chromium to drive: ``$LLM_MARGIN_CHROMIUM``, else ``chromium`` on the PATH."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        if not Path(configured).is_file():
            pytest.fail(
                f"{CHROMIUM_ENV}={configured} is not a file: name a Chrome or Chromium binary"
            )
        return configured
    found = shutil.which("chromium")
    if not found:
        pytest.fail(
            "the browser tests need Chromium and `chromium` is not on the PATH: "
            "`make test` installs it (Debian: apt-get install -y chromium, as root), "
            f"or set {CHROMIUM_ENV} to a Chrome or Chromium binary"
        )
    return found


def artifacts_dir() -> Path:
    root = os.environ.get(ARTIFACTS_ENV)
    return (Path(root) if root else PROJECT_ROOT / "test-artifacts") / "browser"


class Screenshots:
    """Saves full-page screenshots by screen name; the directory is emptied on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.saved: list[Path] = []

    def save(self, page, name: str) -> Path:
        if not self.saved:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.saved.append(path)
        return path


_screenshots = Screenshots(artifacts_dir())


@pytest.fixture(scope="session")
def screenshots() -> Screenshots:
    return _screenshots


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    """One headless Chromium per test module (a module holds one screen's tests)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    executable = chromium_executable()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    """A fresh page (own cookies and local storage) for one test."""
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    yield page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    page = getattr(item, "funcargs", {}).get("browser_page")
    if report.when == "call" and report.failed and page is not None and not page.is_closed():
        try:
            path = _screenshots.save(page, f"{item.name}-failed")
        except Exception as error:  # the page may be what broke; the failure itself matters more
            report.sections.append(("browser", f"no screenshot of the failure: {error}"))
        else:
            report.sections.append(("browser", f"screenshot of the failure: {path}"))
    return report


def pytest_terminal_summary(terminalreporter) -> None:
    if _screenshots.saved:
        terminalreporter.write_sep("-", "browser screenshots")
        terminalreporter.write_line(
            f"{len(_screenshots.saved)} screenshots in {_screenshots.directory}"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 300) -> None:
    """Poll ``url`` until it answers 200; fail with the log's tail when the process exits or
    ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited ({process.returncode}):\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer within {timeout_s:.0f} s:\n{_tail(log)}")
        time.sleep(1)


def _tail(log: Path, lines: int = 40) -> str:
    if not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
