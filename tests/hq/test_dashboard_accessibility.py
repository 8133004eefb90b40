"""Every dashboard page, old and new, passes axe-core in a real browser with no serious or
critical violation.

axe-core is vendored under tests/vendor/axe-core (from the npm registry, its version and
licence noted there) and checked against its digest before it runs; it is evaluated in the
page through the DevTools protocol, so the pages' Content-Security-Policy stays as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hq import chromium
from tests.hq.drive_site import DriveSite, drive_site
from tests.hq.test_drive_pages_browser import sign_in

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"  # 4.14.1
BLOCKING = ("serious", "critical")

chromium.need_chromium()


@pytest.fixture(scope="module")
def axe_source() -> str:
    data = AXE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == AXE_SHA256, "tests/vendor/axe-core changed"
    return data.decode("utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DriveSite]:
    yield from drive_site(tmp_path_factory.mktemp("a11y"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium.launched()


def audit(page: Any, axe_source: str) -> list[str]:
    """The page's serious and critical violations, one line each (rule, impact, where)."""
    page.evaluate(axe_source)
    result = page.evaluate("async () => await axe.run(document, "
                           "{resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(node["target"]) for node in v["nodes"][:5])
            for v in result["violations"] if v["impact"] in BLOCKING]


PAGES = ("/", "/interviews/sync-drive", "/interviews/sync-drive/follow-ups", "{session}",
         "/admin", "/admin/requests", "/admin/requests?reference=S000-2345",
         "/reports/fairness", "/drives",
         "/drives/{drive}", "/drives/{drive}/invitations", "/fleet", "/fleet?drive={drive}",
         "/no-such-page")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_an_admin_sees_passes_axe(browser: object, site: DriveSite,
                                             axe_source: str, path: str) -> None:
    page = sign_in(browser, site, "asha")
    page.goto(site.hq.url + path.format(session=site.session_path, drive=site.drive))
    assert audit(page, axe_source) == []
    page.close()


def test_the_sign_in_page_passes_axe_also_after_a_failure(browser: object, site: DriveSite,
                                                          axe_source: str) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{site.hq.url}/login")
    assert audit(page, axe_source) == []
    page.goto(f"{site.hq.url}/login?failed=1")
    assert audit(page, axe_source) == []
    page.close()


def test_pages_with_errors_and_other_roles_pass_axe(browser: object, site: DriveSite,
                                                     axe_source: str) -> None:
    admin = sign_in(browser, site, "asha")
    admin.goto(f"{site.hq.url}/drives/{site.drive}")
    admin.fill("textarea[name=roster]", "name,contact\n,nobody\n")
    admin.click("text=Import roster")
    assert admin.locator("[data-testid=roster-problems]").count() == 1
    assert audit(admin, axe_source) == []
    admin.goto(f"{site.hq.url}/drives")
    admin.fill("input[name=name]", "Broken")
    admin.fill("input[name=from]", "2026-12-10")
    admin.click("text=Create drive")
    assert admin.locator("[role=alert]").count() == 1
    assert audit(admin, axe_source) == []
    for name in ("ravi", "vik"):
        page = sign_in(browser, site, name)
        for path in ("/", site.session_path, f"/drives/{site.drive}", "/fleet"):
            page.goto(site.hq.url + path)
            assert audit(page, axe_source) == [], (name, path)
        page.close()


def test_the_audit_finds_what_it_is_for(browser: object, site: DriveSite,
                                        axe_source: str) -> None:
    """A page with an unlabelled field and unreadable text fails: the audit can fail."""
    page = sign_in(browser, site, "asha")
    page.goto(f"{site.hq.url}/fleet")
    page.evaluate("""() => {
        const input = document.createElement('input');
        document.querySelector('main').append(input);
        const text = document.createElement('p');
        text.textContent = 'faint'; text.style.color = '#eeeeee';
        document.querySelector('main').append(text);
    }""")
    found = audit(page, axe_source)
    assert any(line.startswith("label (critical)") for line in found), found
    assert any(line.startswith("color-contrast (serious)") for line in found), found
