"""An HQ desk to test the dashboard against: a real HQ process that a real kiosk synced to,
with the accounts of a small hiring team, on SQLite or PostgreSQL (the `hq` fixture).

Two sessions of the `sync-drive` interview arrive: Meera's, with a recording whose
plaintext the test knows byte for byte, and Arjun's, which the kiosk's staff already
scored and decided on site.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hq import accounts
from hq.storage import HqStorage
from kiosk.store.results import set_decision, set_reviewer_score
from kiosk.vault import create
from tests.hq.conftest import HqServer, Kiosk, sync_template
from tests.hq.test_hq_sync import finished_session, service
from tests.hq.webclient import PASSWORD

TEAM = (("asha", "admin"), ("ravi", "recruiter"), ("meena", "recruiter"), ("vik", "viewer"))
RECORDING_SIZE = 974_423   # the size in the recruiter's report: not a multiple of anything


@dataclass
class Desk:
    """The HQ, the kiosk that synced to it, and what arrived."""

    hq: HqServer
    kiosk: Kiosk
    device: str
    meera: str            # session ids
    arjun: str
    recording: bytes      # the plaintext of Meera's answer to introduce-yourself

    def path(self, session: str) -> str:
        return f"/sessions/{self.device}/{session}"

    def media(self, session: str, question: str = "introduce-yourself") -> str:
        return f"/media/{self.device}/{session}/{question}/video"

    def reference(self, session: str) -> str:
        return str(next(r["reference"] for r in self.hq.sessions()
                        if r["session_id"] == session))

    def storage(self) -> HqStorage:
        return HqStorage(self.hq.db)


def open_desk(hq: HqServer, kiosk: Kiosk) -> Desk:
    link = kiosk.enroll(hq, "Campus kiosk 3")
    template_file = hq.data_dir.parent / "sync-drive.toml"
    template_file.write_text(sync_template().text, encoding="utf-8")
    hq.cli("templates", "publish", str(template_file))
    storage = HqStorage(hq.db)
    try:
        for name, role in TEAM:
            accounts.add_user(storage, name, role, PASSWORD)
    finally:
        storage.dispose()
    meera = finished_session(kiosk, name="Meera Iyer")
    recording = os.urandom(RECORDING_SIZE)
    path = kiosk.store.video_path(meera, "introduce-yourself", 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with create(path, kiosk.store.media_recipients(meera)) as writer:
        writer.write(recording)
    arjun = finished_session(kiosk, name="Arjun Rao")
    set_reviewer_score(kiosk.store, arjun, "communication", 2)
    set_decision(kiosk.store, arjun, "hold")
    assert service(kiosk).run_pass().stopped_by is None
    return Desk(hq, kiosk, link.device_id, meera, arjun, recording)
