"""Follow-up probes at HQ: a real kiosk's session with an asked follow-up, synced to a real HQ
over loopback HTTP and carried on a bundle; the candidate page (also in Chromium), the
follow-up's recording and archive; tampered follow-ups refused; how often each probe was
asked. One HQ process on SQLite for the module (the fuzz test covers PostgreSQL)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kiosk.clock import FakeClock
from kiosk.flow import CandidateFlow, Step
from kiosk.scoring.service import score_session
from kiosk.session import FollowUpOutcome, follow_up_key
from kiosk.store import jobs
from kiosk.store.results import save_transcript
from kiosk.templates import InterviewTemplate
from kiosk.uplink.export import export_bundle
from kiosk.vault import Recipient
from tests.hq.conftest import HqServer, Kiosk, make_kiosk, sync_template
from tests.hq.forge import (
    Forger,
    changed,
    follow_up,
    scorecard,
    session_content,
    session_meta,
    with_follow_up,
)
from tests.hq.test_dashboard_browser import record_answer
from tests.hq.test_hq_sync import finished_session, service, spoken
from tests.hq.web import Dashboard

PASSWORD = "correct horse battery staple"
QUESTION = "something-you-learned-recently"
PROBE_KEY = follow_up_key(QUESTION)
FOLLOW_UP_ANSWER = ("Next time I would ask a friend to check my formulas. My next step is "
                    "to take a short online course.")


def take_with_follow_up(kiosk: Kiosk, template: InterviewTemplate, name: str) -> str:
    """A completed session whose second question's follow-up `next-step` was asked and
    answered (the flow driven as the window drives it), transcribed and scored."""
    clock = FakeClock()
    flow = CandidateFlow(template, clock=clock, archive=kiosk.store)
    flow.start()
    flow.choose_language("en")
    flow.identify(name, "candidate@example.com")
    flow.give_consent(recording=True, retention=True, ai_scoring=True)
    flow.set_accommodations()
    flow.report_devices(camera=True, microphone=True)
    flow.devices_ready()
    flow.skip_practice()
    asked = 0
    while flow.step is not Step.FINISHED:
        if flow.step is Step.READ:
            flow.begin_question()
        flow.ready()
        if flow.step is Step.COUNTDOWN:
            clock.advance(flow.time_left() or 0)
            flow.tick()
        clock.advance(8)
        flow.tick()
        if flow.mode.value == "text":
            flow.update_text("It was easy to follow, for example the countdown.")
        flow.finish_answer()
        flow.submit()
        if flow.step is Step.FOLLOW_UP_CHECK:
            # Refused for any other question than the one whose answer was just kept.
            flow.follow_up_decided(QUESTION, FollowUpOutcome.ASKED, "next-step")
            assert flow.step is Step.THINK and flow.answer_key == PROBE_KEY
            asked += 1
    assert asked == 1
    session = flow.session()
    assert session is not None and PROBE_KEY in session.answers
    with kiosk.store.transaction():
        save_transcript(kiosk.store, session.id, "introduce-yourself", 1,
                        spoken("I am a student and for example I ran the college fest"))
        save_transcript(kiosk.store, session.id, PROBE_KEY, 1, spoken(FOLLOW_UP_ANSWER))
    while (job := jobs.claim(kiosk.store)) is not None:
        with kiosk.store.transaction():
            score_session(kiosk.store, job.session_id)
            jobs.mark_done(kiosk.store, job)
    return session.id


@dataclass
class Site:
    hq: HqServer
    admin: Dashboard
    synced: str           # /sessions/... of the synced session with a follow-up
    imported: str         # ... of the one carried on a bundle
    not_asked: str        # ... of one whose decision came too late
    forger: Forger
    import_output: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("follow-ups")
    secret = root / "hq-passphrase"
    secret.write_text("hq admin test passphrase")
    (root / "hq").mkdir()
    hq = HqServer(root / "hq", f"sqlite:///{root / 'hq.sqlite3'}", secret)
    hq.cli("init", "--passphrase-file", str(secret))
    password = root / "password"
    password.write_text(PASSWORD)
    hq.cli("users", "add", "asha", "--role", "admin", "--password-file", str(password))
    hq.start()
    online, carried = make_kiosk(root / "online"), make_kiosk(root / "carried")
    try:
        template = sync_template()
        link = online.enroll(hq, "Campus kiosk 1")
        online.store.keep_template(template)
        synced = take_with_follow_up(online, template, "Meera Iyer")
        record_answer(online, synced, PROBE_KEY)
        late = finished_session(online, name="Arjun Rao")   # the wait ran out: not_ready
        result = service(online).run_pass()
        assert result.stopped_by is None, result.stopped_by
        assert result.sent == {"session": 2, "transcript": 3, "recording": 2}, result.sent
        carried_link = carried.enroll(hq, "Campus kiosk 2")
        carried.store.keep_template(template)
        imported = take_with_follow_up(carried, template, "Zoya Khan")
        stick = root / "usb"
        stick.mkdir()
        bundle, count = export_bundle(carried.store, carried.unlocked, stick)
        assert count == 1
        output = hq.cli("import", str(bundle)).stdout
        forger = Forger(hq.url, link.device_id, online.unlocked.signing,
                        Recipient.from_text(link.hq_recipient))
        yield Site(hq, Dashboard(hq.port).sign_in("asha", PASSWORD),
                   f"/sessions/{link.device_id}/{synced}",
                   f"/sessions/{carried_link.device_id}/{imported}",
                   f"/sessions/{link.device_id}/{late}", forger, output)
    finally:
        online.store.close()
        carried.store.close()
        hq.stop()


def follow_up_block(page: str) -> str:
    found = re.search(r'<div class="follow-up".*?</div>\s*</section>', page, re.S)
    assert found, page[:2000]
    return found[0]


def test_a_synced_follow_up_shows_under_its_question_with_its_answer(site: Site) -> None:
    page = site.admin.get(site.synced)
    assert page.status == 200, page.text[:500]
    block = follow_up_block(page.text)
    assert ("Follow-up asked: “What will you do next with what you learned, or what would "
            "you do differently next time?” because the answer showed no evidence of "
            "“Suggests a change or next step”") in block
    # Its recording, its transcript (word by word) and its evidence, under its own key.
    device, session = site.synced.split("/")[2:]
    assert f'src="/media/{device}/{session}/{PROBE_KEY}/video"' in block
    assert f'class="transcript" data-question="{PROBE_KEY}"' in block
    assert ">online</button>" in block
    assert f'class="jump" data-question="{PROBE_KEY}"' in block
    # Nothing of the follow-up is drawn as the question's own answer.
    question = page.text[page.text.index(f'id="q-{QUESTION}"'):page.text.index(block)]
    assert PROBE_KEY not in question


def test_a_follow_ups_recording_plays_by_byte_ranges_audited(site: Site) -> None:
    device, session = site.synced.split("/")[2:]
    path = f"/media/{device}/{session}/{PROBE_KEY}/video"
    whole = site.admin.get(path)
    assert whole.status == 200 and whole.body[4:8] == b"ftyp"
    part = site.admin.request("GET", path, headers={"Range": "bytes=0-99"})
    assert part.status == 206 and part.body == whole.body[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(whole.body)}"
    listed = site.hq.cli("audit", "list").stdout
    assert any("recording.viewed" in line and f'"question_id": "{PROBE_KEY}"' in line
               for line in listed.splitlines()), listed[-1000:]
    # A key of another form is no answer at all.
    assert site.admin.get(f"/media/{device}/{session}/{QUESTION}.other/video").status == 404


def test_the_access_archive_holds_the_follow_ups_answer(site: Site) -> None:
    device, session = site.synced.split("/")[2:]
    archive = site.admin.post(f"/admin/sessions/{device}/{session}/access", {})
    assert archive.status == 200, archive.text[:300]
    names = zipfile.ZipFile(io.BytesIO(archive.body)).namelist()
    assert f"answers/{PROBE_KEY}-transcript.txt" in names
    assert f"answers/{PROBE_KEY}-video.mp4" in names


def test_a_bundle_carries_a_follow_up_to_hq(site: Site) -> None:
    assert "0 new" not in site.import_output and "refused" not in site.import_output.lower()
    page = site.admin.get(site.imported)
    assert page.status == 200, page.text[:500]
    block = follow_up_block(page.text)
    assert "Follow-up asked: “What will you do next" in block
    assert ">online</button>" in block


def test_a_follow_up_not_asked_is_one_quiet_line(site: Site) -> None:
    page = site.admin.get(site.not_asked)
    assert page.status == 200, page.text[:500]
    assert 'class="follow-up"' not in page.text
    line = re.search(r'data-testid="follow-up-decision">([^<]*)<', page.text)
    assert line and line[1] == ("No follow-up: the decision was not ready in time, and the "
                                "interview went on.")


def _forge_session(site: Site, session_id: str, card: dict[str, Any],
                   interview: str, status: str = "completed") -> None:
    content = session_content(site.forger.hq, card["candidate"]["reference"])
    content["scorecard"] = card
    answer = site.forger.put("session", session_id, session_meta(
        card["candidate"]["reference"], interview_id=interview, status=status), content)
    assert answer.status == 201, answer.body


@pytest.mark.parametrize(("what", "card", "message"), [
    ("a bad outcome", changed(with_follow_up(scorecard("TAMP-0001")),
                              ("questions", 0, "follow_up", "outcome"), "perhaps"),
     "scorecard.questions[0].follow_up.outcome must be one of"),
    ("an oversize prompt", with_follow_up(scorecard("TAMP-0002"),
                                          follow_up(prompt="Why? " * 5000)),
     "scorecard.questions[0].follow_up.prompt must be text of 1 to 20000 characters"),
    ("evidence naming a follow-up that was not asked",
     with_follow_up(scorecard("TAMP-0003"), follow_up("not_needed")),
     "names a follow-up the scorecard does not show asked and answered"),
])
def test_a_tampered_follow_up_is_refused_with_the_field(site: Site, what: str,
                                                        card: dict[str, Any],
                                                        message: str) -> None:
    session_id = "tamp" + hashlib.sha256(what.encode()).hexdigest()[:8]
    _forge_session(site, session_id, card, "tampered")
    page = site.admin.get(f"/sessions/{site.forger.device_id}/{session_id}")
    assert page.status == 403, page.status
    assert "malformed" in page.text and message in page.text, page.text[-1500:]
    assert "perhaps" not in page.text and "Why? Why?" not in page.text


def test_a_transcript_or_recording_under_a_key_of_another_form_is_refused_at_the_edge(
        site: Site) -> None:
    from tests.hq.forge import transcript_content

    answer = site.forger.put("transcript", "tamp00000001",
                             {"question_id": "intro.probe.probe", "needs_review": False},
                             transcript_content("intro.probe.probe"), part="intro.probe.probe")
    assert answer.status == 422 and b"meta.question_id" in answer.body, answer.body
    answer = site.forger.put("transcript", "tamp00000001",
                             {"question_id": "intro.probe", "needs_review": False},
                             transcript_content("intro.probe"), part="intro.probe")
    assert answer.status == 201, answer.body


def test_how_often_each_probe_was_asked(site: Site) -> None:
    decided = [follow_up()] * 5 + [follow_up("not_needed"), follow_up("needs_review"),
                                   follow_up("no_consent"), follow_up("not_ready")]
    for n, entry in enumerate(decided):
        reference = f"RATE-{n:04d}"
        _forge_session(site, f"rate{n:08d}",
                       with_follow_up(scorecard(reference), entry, evidence=False), "rates")
    # An interview not completed is not counted.
    _forge_session(site, "rate00000099", with_follow_up(scorecard("RATE-0099"), evidence=False),
                   "rates", status="in_progress")
    page = site.admin.get("/interviews/rates/follow-ups")
    assert page.status == 200, page.text[:500]
    [rate] = re.findall(r'data-testid="probe-rate"[^>]*><strong>([^<]*)</strong>', page.text)
    assert rate == "result asked in 5 of 7 (71%)"
    assert 'data-testid="most-asked"' in page.text
    assert "1 declined AI-assisted processing, 1 decided too late" in page.text
    assert re.search(r'data-testid="judged">7<', page.text)
    # The real interview: two asked and answered (synced, carried), one decided too late.
    page = site.admin.get("/interviews/sync-drive/follow-ups")
    [rate] = re.findall(r'data-testid="probe-rate"[^>]*><strong>([^<]*)</strong>', page.text)
    assert rate == "next-step asked in 2 of 2 (100%)"
    assert 'data-testid="most-asked"' not in page.text   # two say too little
    assert "1 decided too late" in page.text and "too few to judge" in page.text
    # The same figures at HQ's command line, with the admin passphrase.
    listed = json.loads(site.hq.cli("follow-ups", "rates", "--json", "--passphrase-file",
                                    str(site.hq.passphrase_file)).stdout)
    assert listed == [{"question_id": "intro", "number": 1, "judged": 7,
                       "not_judged": {"no_consent": 1, "not_ready": 1},
                       "probes": [{"probe_id": "result", "asked": 5, "share": 0.714,
                                   "most": True}]}]
    text = site.hq.cli("follow-ups", "rates", "--passphrase-file",
                       str(site.hq.passphrase_file)).stdout
    assert "result asked in 5 of 7 (71%)  asked of most candidates" in text
    assert site.hq.cli("follow-ups", "../x", check=False).returncode == 2
    # The interview's page links to it; an interview without follow-ups says so.
    assert "/interviews/sync-drive/follow-ups" in site.admin.get("/interviews/sync-drive").text
    assert 'data-testid="no-follow-ups"' in site.admin.get(
        "/interviews/nothing-here/follow-ups").text
    assert site.admin.get("/interviews/..%2Fx/follow-ups").status == 404


def test_the_candidate_page_in_chromium_jumps_to_the_follow_ups_player(site: Site) -> None:
    from tests.hq import chromium

    chromium.need_chromium()
    for browser in chromium.launched("--autoplay-policy=no-user-gesture-required"):
        page = chromium.sign_in(browser, site.hq.url, "asha", PASSWORD)
        page.goto(site.hq.url + site.synced)
        follow = page.get_by_test_id("follow-up")
        assert follow.locator("h3").first.inner_text().startswith("Follow-up asked: “What")
        page.wait_for_function(
            "() => document.querySelectorAll('video[data-player]').length === 1 && "
            "document.querySelector('video[data-player]').readyState >= 1", timeout=120_000)
        player = follow.locator("video[data-player]")
        assert player.get_attribute("data-question") == PROBE_KEY
        page.evaluate("""() => { const v = document.querySelector('video[data-player]');
            v.addEventListener('seeked', () => { window.seekedTo = v.currentTime; },
                               { once: true }); }""")
        jump = follow.locator("button.jump").first
        start = float(jump.get_attribute("data-start") or "nan")
        jump.click()
        page.wait_for_function("() => window.seekedTo !== undefined", timeout=120_000)
        assert abs(page.evaluate("() => window.seekedTo") - start) < 0.05
        page.close()


def test_the_follow_up_rates_page_has_no_script_or_markup_from_the_kiosk(site: Site) -> None:
    card = with_follow_up(scorecard("RATE-0500"),
                          follow_up(prompt="<script>alert(1)</script>"), evidence=False)
    card["questions"][0]["prompt"] = "<img src=x onerror=alert(2)>"
    _forge_session(site, "rate00000500", card, "escaped")
    text = site.admin.get("/interviews/escaped/follow-ups").text
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text
    assert "<img src=x" not in text
    page = site.admin.get(f"/sessions/{site.forger.device_id}/rate00000500").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
