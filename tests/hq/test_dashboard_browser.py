"""The recruiter dashboard in a real browser: Debian's Chromium driven by Playwright, against a
real HQ process that a real kiosk synced real recordings to.

Skips, saying why, where Chromium or Playwright is missing (`scripts/system-packages.sh
test` installs Chromium; the `test` extra brings Playwright, which never downloads a browser).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from capture.recorder import AUDIO_COPY_SEGMENT_SIZE, VIDEO_SEGMENT_SIZE, AnswerRecorder
from capture.sources import SyntheticSource
from kiosk.vault import create
from tests.hq import chromium
from tests.hq.conftest import HqServer, Kiosk, make_kiosk, sync_template
from tests.hq.test_hq_sync import finished_session, service

# `make screenshots` points this at docs/screenshots; a test run leaves the docs alone.
SCREENSHOTS = Path(os.environ.get("KIOSK_SCREENSHOT_DIR")
                   or Path(tempfile.gettempdir()) / "interview-kiosk-hq-screenshots")
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
PASSWORD = "correct horse battery staple"

chromium.need_chromium()


def record_answer(kiosk: Kiosk, session_id: str, question_id: str, seconds: float = 6.0) -> None:
    """A real H.264/AAC answer from the synthetic source, recorded into vault files."""
    store = kiosk.store
    recipients = store.media_recipients(session_id)
    video_path = store.video_path(session_id, question_id, 1)
    video_path.parent.mkdir(parents=True, exist_ok=True)
    with create(video_path, recipients, segment_size=VIDEO_SEGMENT_SIZE) as video, \
            create(store.audio_path(session_id, question_id, 1), recipients,
                   segment_size=AUDIO_COPY_SEGMENT_SIZE) as audio:
        recorder = AnswerRecorder(SyntheticSource(640, 360, 25.0, seconds=seconds,
                                                  realtime=False, label="TEST ANSWER"),
                                  video, audio)
        recorder.start()
        assert recorder.wait() is not None


@dataclass
class Site:
    hq: HqServer
    kiosk: Kiosk
    reference: str
    path: str   # the candidate page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("dashboard")
    secret = root / "hq-passphrase"
    secret.write_text("hq admin test passphrase")
    (root / "hq").mkdir()
    hq = HqServer(root / "hq", f"sqlite:///{root / 'hq.sqlite3'}", secret)
    hq.cli("init", "--passphrase-file", str(secret))
    password = root / "password"
    password.write_text(PASSWORD)
    for name, role in (("asha", "admin"), ("ravi", "recruiter"), ("meena", "recruiter"),
                       ("vik", "viewer")):
        hq.cli("users", "add", name, "--role", role, "--password-file", str(password))
    template = root / "sync-drive.toml"
    template.write_text(sync_template().text, encoding="utf-8")
    hq.cli("templates", "publish", str(template))   # its title names the interview
    hq.start()
    kiosk = make_kiosk(root / "kiosk")
    try:
        kiosk.enroll(hq, "Campus kiosk 3")
        sid = finished_session(kiosk, name="Meera Iyer")
        record_answer(kiosk, sid, "introduce-yourself")
        finished_session(kiosk, name="Arjun Rao")
        assert service(kiosk).run_pass().stopped_by is None
        row = next(r for r in hq.sessions() if r["session_id"] == sid)
        yield Site(hq, kiosk, str(row["reference"]), f"/sessions/{row['device_id']}/{sid}")
    finally:
        kiosk.store.close()
        hq.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium.launched("--autoplay-policy=no-user-gesture-required")


def sign_in(browser: object, site: Site, name: str, password: str = PASSWORD) -> object:
    return chromium.sign_in(browser, site.hq.url, name, password)


def test_sign_in_overview_and_funnel(browser: object, site: Site) -> None:
    page = sign_in(browser, site, "ravi")
    assert page.locator("h1").inner_text() == "Interviews"
    # Interviews go by their title, with the id beside it.
    assert page.locator("section.interview h2 a").first.inner_text() == "Try the kiosk"
    assert "sync-drive" in page.locator("section.interview h2").first.inner_text()
    funnel = page.locator("svg.funnel").first
    assert "Started 2" in funnel.get_attribute("aria-label")
    assert "Completed 2" in funnel.get_attribute("aria-label")
    # The tab's icon is HQ's own, served from HQ.
    icon = page.evaluate("fetch(document.querySelector('link[rel=icon]').href)"
                         ".then(r => [r.status, r.headers.get('content-type')])")
    assert icon == [200, "image/x-icon"]
    page.screenshot(path=str(SCREENSHOTS / "hq-overview.png"), full_page=True)
    page.close()


def test_a_wrong_password_does_not_sign_in_and_guessing_is_slowed(browser: object,
                                                                   site: Site) -> None:
    page = sign_in(browser, site, "nobody", "not the password at all")
    assert "/login" in page.url
    assert "do not match" in page.locator(".alert").inner_text()
    for _ in range(5):
        page.fill("input[name=name]", "nobody")
        page.fill("input[name=password]", "still guessing here")
        page.click("button[type=submit]")
    assert "Too many attempts" in page.locator(".alert").inner_text()
    page.close()


def test_candidate_list_filters_and_sorts(browser: object, site: Site) -> None:
    page = sign_in(browser, site, "ravi")
    page.click("text=Try the kiosk")
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 2
    page.select_option("select[name=sort]", "suggested_score")
    page.select_option("select[name=kiosk]", "Campus kiosk 3")
    page.click("text=Apply")
    assert "sort=suggested_score" in page.url and rows.count() == 2
    page.screenshot(path=str(SCREENSHOTS / "hq-candidates.png"), full_page=True)
    page.close()


def test_video_plays_seeks_and_transcript_words_jump(browser: object, site: Site) -> None:
    page = sign_in(browser, site, "ravi")
    page.goto(site.hq.url + site.path)
    assert page.get_by_test_id("candidate-name").inner_text() == "Meera Iyer"
    video = page.locator("video").first
    page.wait_for_function("() => document.querySelector('video').readyState >= 1", timeout=120_000)
    duration = video.evaluate("v => v.duration")
    assert 5.0 <= duration <= 7.0
    page.locator(".transcript .word", has_text="college").first.click()
    page.wait_for_function("() => document.querySelector('video').currentTime > 4.0",
                           timeout=120_000)
    # A seek asks HQ for a byte range of the decrypted file.
    video.evaluate("v => { v.pause(); v.currentTime = 2.5; }")
    page.wait_for_function(
        "() => Math.abs(document.querySelector('video').currentTime - 2.5) < 0.1")
    page.screenshot(path=str(SCREENSHOTS / "hq-candidate.png"), full_page=True)
    # Opened on its own (a new tab, a download), the recording plays whole.
    src = video.get_attribute("src")
    page.goto(site.hq.url + src)
    page.wait_for_function("() => document.querySelector('video') && "
                           "document.querySelector('video').readyState >= 1", timeout=20000)
    assert 5.0 <= page.evaluate("document.querySelector('video').duration") <= 7.0
    page.close()


def test_evidence_shows_its_sentence_indicator_and_method_and_plays_from_its_start(
        browser: object, site: Site) -> None:
    page = sign_in(browser, site, "ravi")
    page.goto(site.hq.url + site.path)
    piece = page.get_by_test_id("evidence").first
    assert "for example" in piece.locator("q").inner_text()
    assert piece.locator(".indicator").inner_text() == "Communication: Gives a concrete example"
    # By meaning where the model is installed (as `make` installs it), else by the phrase.
    assert re.fullmatch(r"found by (meaning \(score (0\.\d\d|1\.00)\)|the phrase “for example”)",
                        piece.locator(".how").inner_text())
    jump = piece.locator("button.jump")
    start = float(jump.get_attribute("data-start"))
    assert 0 < start < 6  # inside the 6 s recording
    page.wait_for_function("() => document.querySelector('video').readyState >= 1", timeout=120_000)
    page.evaluate("""() => { const v = document.querySelector('video');
        v.addEventListener('seeked', () => { window.seekedTo = v.currentTime; },
                           { once: true }); }""")
    jump.click()
    page.wait_for_function("() => window.seekedTo !== undefined", timeout=120_000)
    assert abs(page.evaluate("window.seekedTo") - start) < 0.05
    page.close()


def test_scoring_hides_others_until_submitted(browser: object, site: Site) -> None:
    first = sign_in(browser, site, "meena")
    first.goto(site.hq.url + site.path)
    first.check("input[name='score:communication'][value='4']")
    first.check("input[name=decision][value=advance]")
    first.fill("textarea[name=note]", "Clear examples.")
    first.click("text=Submit my review")
    assert first.locator("input[name='score:communication'][value='4']").is_checked()
    first.close()
    second = sign_in(browser, site, "ravi")
    second.goto(site.hq.url + site.path)
    assert second.get_by_test_id("others-hidden").is_visible()
    assert second.get_by_test_id("other-review").count() == 0
    second.check("input[name='score:communication'][value='3']")
    second.click("text=Submit my review")
    assert "meena" in second.get_by_test_id("other-review").inner_text()
    second.close()


def test_a_viewer_cannot_score(browser: object, site: Site) -> None:
    page = sign_in(browser, site, "vik")
    page.goto(site.hq.url + site.path)
    assert page.get_by_test_id("viewer-note").is_visible()
    assert page.locator("input[name='score:communication']").first.is_disabled()
    # Posting anyway (with a valid CSRF token) is refused by the server.
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(site.hq.url + site.path + "/review",
                               form={"csrf": token, "score:communication": "5"})
    assert answer.status == 403
    page.close()


def test_csv_export_downloads(browser: object, site: Site) -> None:
    page = sign_in(browser, site, "asha")
    with page.expect_download() as download:
        page.click("text=Export CSV")
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[0].startswith("reference,interview_id,kiosk")
    assert site.reference in text and "Meera" not in text
    assert text == site.hq.cli("export-csv").stdout  # one export, from the CLI or the web
    page.close()
    # A recruiter's export leaves out others' results where they have not reviewed.
    page = sign_in(browser, site, "vik")
    assert page.locator("text=Export CSV").count() == 0      # a viewer exports nothing
    page.close()


def test_a_recruiter_sees_others_results_only_after_reviewing(browser: object,
                                                              site: Site) -> None:
    page = sign_in(browser, site, "asha")
    page.click("text=Try the kiosk")
    page.locator("table.list tbody tr", has_not_text=site.reference).locator("a").click()
    page.check("input[name=decision][value=advance]")             # asha decides on Arjun
    page.click("text=Submit my review")
    page.click("text=Interviews")
    page.click("text=Try the kiosk")
    assert page.get_by_test_id("results-hidden").count() == 0   # an admin sees all
    page.close()
    page = sign_in(browser, site, "ravi")
    page.click("text=Try the kiosk")
    hidden = page.get_by_test_id("results-hidden")
    # ravi reviewed Meera (above), not Arjun: Arjun's line keeps asha's decision back.
    assert hidden.count() == 1 and "hidden until you review (1 review)" in hidden.inner_text()
    meera = page.locator("table.list tbody tr", has_text=site.reference).inner_text()
    assert "advance" in meera and "hidden" not in meera      # meena's decision, shown now
    page.close()


def test_an_empty_review_is_refused_and_keeps_what_was_typed(browser: object,
                                                             site: Site) -> None:
    page = sign_in(browser, site, "asha")
    page.goto(site.hq.url + site.path)
    page.fill("textarea[name=note]", "Could not hear the second answer.")
    page.click("text=Submit my review")
    problem = page.get_by_test_id("review-problem")
    assert "empty review" in problem.inner_text()
    assert page.locator("textarea[name=note]").input_value() == \
        "Could not hear the second answer."
    page.check("input[name=decision][value=hold]")
    page.click("text=Submit my review")
    assert page.get_by_test_id("review-problem").count() == 0
    assert page.locator("input[name=decision][value=hold]").is_checked()
    page.close()


def test_blind_review_hides_the_name(browser: object, site: Site) -> None:
    admin = sign_in(browser, site, "asha")
    admin.goto(site.hq.url + "/admin")
    admin.check("input[name=blind]")
    admin.click("text=Save")
    admin.screenshot(path=str(SCREENSHOTS / "hq-admin.png"), full_page=True)
    page = sign_in(browser, site, "ravi")
    page.goto(site.hq.url + site.path)
    assert "Meera" not in page.content() and site.reference in page.locator("h1").inner_text()
    admin.goto(site.hq.url + "/admin")
    admin.uncheck("input[name=blind]")
    admin.click("text=Save")
    admin.close()
    page.close()


def test_csrf_and_session_expiry_are_enforced(browser: object, site: Site) -> None:
    page = sign_in(browser, site, "ravi")
    forged = page.request.post(site.hq.url + site.path + "/review",
                               form={"csrf": "forged", "score:communication": "1"})
    assert forged.status == 403
    # Expire every session in HQ's database: the next page asks to sign in again.
    import sqlite3

    db = sqlite3.connect(site.hq.db.removeprefix("sqlite:///"))
    db.execute("UPDATE web_sessions SET expires_at = '2000-01-01T00:00:00+00:00'")
    db.commit()
    db.close()
    page.goto(site.hq.url + "/")
    assert "/login" in page.url
    page.close()


def test_requests_access_export_and_erasure(browser: object, site: Site) -> None:
    other = next(r for r in site.hq.sessions() if r["reference"] != site.reference)
    page = sign_in(browser, site, "asha")
    page.goto(site.hq.url + "/admin/requests")
    page.select_option("select[name=kind]", "erasure")
    page.fill("input[name=reference]", str(other["reference"]).lower())
    page.fill("input[name=received]", "2026-10-01")   # more than 30 days ago: overdue
    page.click("text=Log it")
    assert "OVERDUE" in page.locator("tr.overdue").inner_text()
    page.click(f"text={other['reference']}")
    with page.expect_download() as download:
        page.click("text=Download everything held (access)")
    assert download.value.suggested_filename.endswith(".zip")
    page.screenshot(path=str(SCREENSHOTS / "hq-requests.png"), full_page=True)
    page.fill("input[name=confirm]", "erase")
    page.click("text=Erase everywhere")
    # Erasing answers the request, says so, and shows the kiosk's part still to come.
    assert page.get_by_test_id("erased-banner").is_visible()
    assert page.locator("tr.overdue").count() == 0
    state = page.get_by_test_id("request-state").first.inner_text()
    assert state.startswith("answered") and "waiting for its next sync" in state
    assert page.locator("text=Mark answered").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "hq-requests-erased.png"), full_page=True)
    page.goto(f"{site.hq.url}/admin/requests?reference={other['reference']}")
    assert "HQ holds nothing" in page.content()
    assert service(site.kiosk).run_pass().erased == 1      # the kiosk hears, erases, confirms
    page.goto(f"{site.hq.url}/admin/requests")
    progress = page.get_by_test_id("erasure-progress").first.inner_text()
    assert "kiosk Campus kiosk 3: confirmed" in progress
    # The erased candidate's page says so; it takes no review any more.
    page.goto(f"{site.hq.url}/sessions/{other['device_id']}/{other['session_id']}")
    assert page.locator("h1").inner_text() == "Erased"
    assert [r["reference"] for r in site.hq.sessions()] == [site.reference]
    page.close()


def test_every_view_and_score_is_in_the_audit_log(site: Site) -> None:
    listed = site.hq.cli("audit", "list").stdout
    for action in ("user.signed_in", "session.viewed", "recording.viewed",
                   "review.submitted", "scorecards.exported", "device.enrolled",
                   "access.exported", "session.erased", "request.logged"):
        assert action in listed, action
    assert "Meera" not in listed
    assert site.hq.cli("audit", "verify").returncode == 0
    import sqlite3

    db = sqlite3.connect(site.hq.db.removeprefix("sqlite:///"))
    db.execute("UPDATE audit SET actor = 'someone-else' WHERE seq = 2")
    db.commit()
    db.close()
    broken = site.hq.cli("audit", "verify", check=False)
    assert broken.returncode == 1 and "entry 2" in broken.stderr
