"""Debian's Chromium driven by Playwright: what the dashboard's browser tests share."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("KIOSK_TEST_CHROMIUM", "/usr/bin/chromium")
# Nothing of the browser's own reaches the network: the tests talk to HQ on loopback only.
ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync")


def need_chromium() -> Any:
    """Playwright's sync API; the calling test module is skipped, loudly, without it."""
    api = pytest.importorskip("playwright.sync_api",
                              reason="Playwright is not installed (the test extra)")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"browser tests SKIPPED: no Chromium at {CHROMIUM} "
                    f"(apt-get install chromium)", allow_module_level=True)
    return api


def launched(*extra_args: str) -> Iterator[Any]:
    """A headless Chromium for a module's tests (a fixture yields from it)."""
    with need_chromium().sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=[*ARGS, *extra_args])
        yield browser
        browser.close()


def sign_in(browser: Any, url: str, name: str, password: str) -> Any:
    """A new page that has sent the sign-in form (the caller checks where it landed)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(120_000)  # a hang guard: a busy machine is waited for
    page.goto(f"{url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    return page
