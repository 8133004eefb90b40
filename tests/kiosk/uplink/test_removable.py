"""The export's folder chooser opens where USB sticks are mounted, not in the working folder."""

from __future__ import annotations

from pathlib import Path

from kiosk.uplink.removable import removable_media_folder


def roots(tmp_path: Path) -> tuple[str, ...]:
    return (str(tmp_path / "media" / "{user}"), str(tmp_path / "run" / "media" / "{user}"),
            str(tmp_path / "media"))


def test_a_single_stick_under_media_user_is_where_it_opens(tmp_path: Path) -> None:
    stick = tmp_path / "media" / "asha" / "KINGSTON"
    stick.mkdir(parents=True)
    (tmp_path / "media" / "asha" / "not-mounted").mkdir()
    found = removable_media_folder(user="asha", home=tmp_path / "home", roots=roots(tmp_path),
                                   is_mount=lambda path: path == stick)
    assert found == stick


def test_several_sticks_open_their_folder(tmp_path: Path) -> None:
    base = tmp_path / "run" / "media" / "asha"
    sticks = [base / "A", base / "B"]
    for stick in sticks:
        stick.mkdir(parents=True)
    (tmp_path / "media" / "asha").mkdir(parents=True)  # exists, but nothing is mounted there
    found = removable_media_folder(user="asha", home=tmp_path / "home", roots=roots(tmp_path),
                                   is_mount=lambda path: path in sticks)
    assert found == base


def test_plain_media_is_used_by_an_automounter(tmp_path: Path) -> None:
    stick = tmp_path / "media" / "usb0"
    stick.mkdir(parents=True)
    found = removable_media_folder(user="asha", home=tmp_path / "home", roots=roots(tmp_path),
                                   is_mount=lambda path: path == stick)
    assert found == stick


def test_nothing_mounted_means_home_not_the_working_folder(tmp_path: Path) -> None:
    (tmp_path / "media" / "asha" / "old-stick").mkdir(parents=True)
    found = removable_media_folder(user="asha", home=tmp_path / "home", roots=roots(tmp_path),
                                   is_mount=lambda path: False)
    assert found == tmp_path / "home"
