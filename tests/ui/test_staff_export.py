"""The staff console writes a bundle for HQ to a USB stick, for sites with no network."""

from __future__ import annotations

import base64
from pathlib import Path

from kiosk import keys
from kiosk.demo.scripted_candidate import take_demo_interview
from kiosk.store import Store
from kiosk.uplink import enrollment
from sync.bundle import read_bundle
from tests.hq.conftest import sync_template
from ui.runtime import Runtime
from ui.staff import StaffConsole

PASS = "staff export test passphrase"


def console(qtbot, data_dir: Path) -> tuple[StaffConsole, keys.UnlockedKeys]:
    keys.init_keys(data_dir, PASS, keys.KdfParams(8192, 1, 1))
    unlocked = keys.unlock(data_dir, PASS)
    store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
    template = sync_template()
    store.keep_template(template)
    take_demo_interview(store, template=template)
    widget = StaffConsole(Runtime(store, unlocked=unlocked), on_lock=lambda: None,
                          on_quit=lambda: None)
    qtbot.addWidget(widget)
    return widget, unlocked


def test_export_writes_a_bundle_hq_can_verify(qtbot, tmp_path: Path) -> None:
    widget, unlocked = console(qtbot, tmp_path / "kiosk")
    enrollment.save_link(tmp_path / "kiosk", enrollment.HqLink(
        url="https://hq.invalid", device_id="k-test", hq_recipient=unlocked.identity.recipient
        .to_text(), hq_signing_key=base64.b64encode(bytes(32)).decode(),
        enrolled_at="2026-11-30"))
    stick = tmp_path / "usb"
    stick.mkdir()
    widget.choose_folder = lambda: str(stick)  # type: ignore[method-assign]
    widget.export.click()
    [written] = stick.glob("*.ikbundle")
    assert "Wrote 1 session " in widget.message.text() and written.name in widget.message.text()
    verified = read_bundle(written, lambda _: unlocked.signing.public_key().public_bytes_raw())
    assert {e.kind for e in verified.entries} == {"session"}
    widget.runtime.store.close()


def test_an_unenrolled_kiosk_says_what_to_do(qtbot, tmp_path: Path) -> None:
    widget, _ = console(qtbot, tmp_path / "kiosk")
    widget.choose_folder = lambda: (_ for _ in ()).throw(AssertionError("no dialog"))  # type: ignore[method-assign]
    widget.export.click()
    assert "not enrolled" in widget.message.text()
    widget.runtime.store.close()
