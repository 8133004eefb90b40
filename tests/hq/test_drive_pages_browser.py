"""The drive pages and the fleet board in a real browser (Debian's Chromium via Playwright),
against a real HQ process with a drive in progress (`tests.hq.drive_site`).

Skips, saying why, where Chromium or Playwright is missing.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hq import chromium
from tests.hq.drive_site import PASSWORD, DriveSite, drive_site
from tests.hq.test_dashboard_browser import SCREENSHOTS

chromium.need_chromium()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DriveSite]:
    yield from drive_site(tmp_path_factory.mktemp("drives"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium.launched()


def sign_in(browser: object, site: DriveSite, name: str) -> object:
    page = chromium.sign_in(browser, site.hq.url, name, PASSWORD)
    page.wait_for_url(f"{site.hq.url}/")
    return page


def test_the_drive_list_and_the_drive_page_show_the_true_funnel(browser: object,
                                                                site: DriveSite) -> None:
    page = sign_in(browser, site, "asha")
    page.click("nav >> text=Drives")
    row = page.locator("[data-testid=drives] tbody tr")
    assert row.count() == 1
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells == ["IIT Campus, December", "Try the kiosk", "2026-12-05 to 2026-12-06",
                     "2", "12", "8", "6", "4", "1"]
    page.screenshot(path=str(SCREENSHOTS / "hq-drives.png"), full_page=True)
    page.click("text=IIT Campus, December")
    assert page.locator("h1").inner_text() == "IIT Campus, December"
    funnel = page.locator("svg.funnel").get_attribute("aria-label")
    assert funnel == ("Funnel: Invited 12, Started 8, Completed 6, Reviewed 3, Advanced 2")
    counts = page.locator("[data-testid=drive-counts]").inner_text()
    assert re.sub(r"\s+", " ", counts) == "No-shows 4 Started, not finished 2 Walk-ins 1"
    # The drive's kiosks only, worst first, each with the reason for its status.
    kiosks = page.locator("[data-testid=fleet] tbody tr")
    assert kiosks.count() == 2
    hall_b = [c.strip() for c in kiosks.nth(0).locator("td").all_inner_texts()]
    assert hall_b[0].startswith("Hall B") and hall_b[1] == "problem"
    assert hall_b[2] == ("camera lost at 10:42 UTC; disk: 40 min left; outbox: 140 items "
                         "waiting; error camera.read_failed at "
                         + hall_b[2].rsplit(" at ", 1)[1])
    hall_a = [c.strip() for c in kiosks.nth(1).locator("td").all_inner_texts()]
    assert hall_a[:3] == ["Hall A " + site.kiosks["Hall A"], "ok", "\u2013"]
    page.screenshot(path=str(SCREENSHOTS / "hq-drive.png"), full_page=True)


def test_the_fleet_board_shows_an_unseen_kiosk_as_unseen(browser: object,
                                                         site: DriveSite) -> None:
    page = sign_in(browser, site, "vik")   # a viewer may look at the fleet
    page.click("nav >> text=Fleet")
    rows = page.locator("[data-testid=fleet] tbody tr")
    statuses = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())]
    assert statuses == ["problem", "unseen", "ok"]
    spare = page.locator("tr[data-kiosk='Spare'] td")
    assert spare.nth(2).inner_text() == "never seen" and spare.nth(3).inner_text() == "never"
    page.screenshot(path=str(SCREENSHOTS / "hq-fleet.png"), full_page=True)
    page.select_option("select[name=drive]", site.drive)
    page.click("text=Show")
    assert page.locator("h1").inner_text() == "Fleet: IIT Campus, December"
    assert page.locator("[data-testid=fleet] tbody tr").count() == 2


def test_an_admin_creates_a_drive_and_a_bad_roster_is_refused_by_line(
        browser: object, site: DriveSite) -> None:
    page = sign_in(browser, site, "asha")
    page.goto(f"{site.hq.url}/drives")
    page.fill("input[name=name]", "NIT Walk-in Day")
    page.select_option("select[name=interview]", "sync-drive")
    page.fill("input[name=from]", "2026-12-10")
    page.fill("input[name=to]", "2026-12-09")
    page.check(f"input[name='kiosk:{site.kiosks['Spare']}']")
    page.click("text=Create drive")
    assert page.locator("[role=alert]").inner_text() == "the drive ends before it starts"
    assert page.input_value("input[name=name]") == "NIT Walk-in Day"   # nothing typed lost
    page.fill("input[name=to]", "2026-12-10")
    page.click("text=Create drive")
    assert page.locator("h1").inner_text() == "NIT Walk-in Day"
    bad = ("name,contact,roll\nAsha,asha@example.edu,1\n,nobody@example.edu,2\n"
           "Ravi,ravi at example,3\n")
    page.fill("textarea[name=roster]", bad)
    page.click("text=Import roster")
    problems = page.locator("[data-testid=roster-problems] li").all_inner_texts()
    assert problems == ["Line 3: a name is required",
                        "Line 4: the contact must be an email address or a phone number "
                        "(7 to 15 digits)"]
    assert page.input_value("textarea[name=roster]") == bad
    page.screenshot(path=str(SCREENSHOTS / "hq-drive-roster-problems.png"), full_page=True)
    assert "0 candidates invited" in page.locator("#roster-title + p").inner_text()
    page.fill("textarea[name=roster]", "name,contact\nAsha,asha@example.edu\n"
                                       "Ravi,+91 98765 43210\n")
    page.click("text=Import roster")
    assert page.locator("[role=status]").inner_text() == "Imported 2 invited candidates."
    assert "2 candidates invited" in page.locator("#roster-title + p").inner_text()


def test_the_invitations_print_one_page_per_candidate(browser: object,
                                                      site: DriveSite) -> None:
    page = sign_in(browser, site, "asha")
    page.goto(f"{site.hq.url}/drives/{site.drive}/invitations")
    cards = page.locator("section.invitation")
    assert cards.count() == 12
    assert cards.first.locator("svg[role=img]").count() == 1
    code = cards.first.locator(".code").inner_text()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}",
                        code)
    page.screenshot(path=str(SCREENSHOTS / "hq-invitations.png"))
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 12


def test_the_placement_export_has_no_scores_unless_chosen(browser: object,
                                                          site: DriveSite) -> None:
    page = sign_in(browser, site, "asha")
    page.goto(f"{site.hq.url}/drives/{site.drive}")
    with page.expect_download() as plain:
        page.click("text=Download CSV")
    rows = list(csv.reader(Path(plain.value.path()).read_text("utf-8").splitlines()))
    assert rows[0] == ["roll", "name", "contact", "status"] and len(rows) == 13
    page.check("input[name=scores]")
    with page.expect_download() as scored:
        page.click("text=Download CSV")
    rows = list(csv.reader(Path(scored.value.path()).read_text("utf-8").splitlines()))
    assert rows[0] == ["roll", "name", "contact", "status", "reviewer_mean"]


def test_a_viewer_sees_the_drive_but_no_roster_or_invitations(browser: object,
                                                              site: DriveSite) -> None:
    page = sign_in(browser, site, "vik")
    page.goto(f"{site.hq.url}/drives/{site.drive}")
    assert page.locator("textarea[name=roster]").count() == 0
    assert page.locator("text=Printable invitations").count() == 0
    answer = page.goto(f"{site.hq.url}/drives/{site.drive}/invitations")
    assert answer is not None and answer.status == 403
    assert "Student" not in page.content()
    answer = page.goto(f"{site.hq.url}/drives/d-ffffffffff")
    assert answer is not None and answer.status == 404
