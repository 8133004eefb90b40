"""Every screen fits at 1280x800 and 1920x1080, in English and Hindi; the kiosk window takes
the whole screen with no window manager (issue 12, item 5).

The tour (`ui/tour.py`) walks every screen; the fit check (`ui/fit.py`) finds any widget cut
off, squeezed below its text or outside the window, and any screen that needs scrolling.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from kiosk.templates import bundled_template_paths
from ui import theme
from ui.fit import PAGE, misfits
from ui.tour import bare_x_server, demo_window, questions_tour, settle, take

ROOT = Path(__file__).resolve().parents[2]
SIZES = [(1280, 800), (1920, 1080)]


@pytest.mark.parametrize("language", ["en", "hi"])
@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_every_screen_fits_offscreen(qtbot, language: str, size: tuple[int, int]) -> None:
    problems: list[str] = []
    assert take(language, size=size, full_screen=False, report=problems.append) == 0, \
        "\n".join(problems)


@pytest.mark.parametrize("language", ["en", "hi"])
def test_a_compliance_notice_and_self_identification_fit_too(qtbot, language: str) -> None:
    """Every bundled interview has a profile: a longer notice, and questions at the end."""
    problems: list[str] = []
    assert take(language, size=(1280, 800), full_screen=False, report=problems.append,
                compliance="dpdp") == 0, "\n".join(problems)


@pytest.mark.parametrize("interview", [p.stem for p in bundled_template_paths()
                                       if p.stem != "demo"])
def test_every_bundled_interviews_own_screens_fit(qtbot, tmp_path: Path, qapp,
                                                  interview: str) -> None:
    """Their notices, every question (long prompts in Hindi too) and the finished screen."""
    before = qapp.styleSheet()
    qapp.setStyleSheet(theme.stylesheet())
    window, clock, close = demo_window(str(tmp_path), interview=interview)
    problems = []
    try:
        window.resize(1280, 800)
        window.show()
        for language in window.flow.template.languages:
            for stop in questions_tour(window, clock, language):
                problems += [f"{language} {stop}: {p}" for p in misfits(window)]
                if (window.width(), window.height()) != (1280, 800):
                    problems.append(f"{language} {stop}: the window grew")
    finally:
        close()
        qapp.setStyleSheet(before)
    assert problems == []


@pytest.mark.skipif(shutil.which("Xvfb") is None,
                    reason="Xvfb is not installed: run make test, which installs it")
@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_the_real_window_fills_a_bare_x_server_and_every_screen_fits(
        size: tuple[int, int]) -> None:
    """As `kiosk-app` shows it in an `xinit` kiosk session: X, no window manager."""
    with bare_x_server(*size) as display:
        env = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
        env["DISPLAY"] = display
        done = subprocess.run([sys.executable, "-m", "ui.tour", "--full-screen"], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=600,
                              check=False)
    report = [line for line in done.stdout.splitlines() if line.strip()]
    assert done.returncode == 0, "\n".join(report) + done.stderr[-2000:]
    assert report[-1] == "every screen fits"


def test_the_full_screen_window_follows_its_screen(qtbot, tmp_path: Path) -> None:
    window, _, close = demo_window(str(tmp_path), kiosk_mode=True)
    try:
        window.showFullScreen()
        settle()
        screen = window.screen()
        assert window.geometry() == screen.geometry()
        bigger = QRect(0, 0, 1920, 1080)
        screen.geometryChanged.emit(bigger)  # a monitor swapped or rotated (xrandr)
        settle()
        assert window.geometry() == bigger
    finally:
        close()


# --- the check itself can fail -------------------------------------------------------------

def page_with(*widgets: QWidget) -> tuple[QWidget, QVBoxLayout]:
    window = QWidget()
    body = QWidget()
    layout = QVBoxLayout(body)
    for widget in widgets:
        layout.addWidget(widget)
    scroll = QScrollArea(window)
    scroll.setObjectName(PAGE)
    scroll.setWidget(body)
    scroll.setWidgetResizable(True)
    outer = QVBoxLayout(window)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
    return window, layout


def test_the_check_finds_a_cut_button_a_cut_label_and_a_screen_that_scrolls(qtbot) -> None:
    cut = QPushButton("Export for HQ (USB)…")
    cut.setFixedWidth(60)
    wrapped = QLabel("A sentence long enough to need several lines in a narrow window. " * 4)
    wrapped.setWordWrap(True)
    wrapped.setFixedHeight(20)
    tall = QLabel("tall")
    tall.setMinimumHeight(900)
    window, _ = page_with(cut, wrapped, tall)
    qtbot.addWidget(window)
    window.resize(400, 300)
    window.show()
    settle()
    found = "\n".join(misfits(window))
    assert "QPushButton 'Export for HQ (USB)…' is 60×" in found  # noqa: RUF001
    assert "QLabel 'A sentence long enough" in found and "its text needs" in found
    assert "QScrollArea needs scrolling" in found
    assert "is outside the window" in found


def test_the_check_finds_a_widget_off_the_window(qtbot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.resize(300, 200)
    off = QLabel("off", window)
    off.setGeometry(QRect(280, 10, 60, 20))
    window.show()
    settle()
    assert any("QLabel 'off' at 60×20+280+10 is outside" in p for p in misfits(window))  # noqa: RUF001


def test_a_fitting_window_has_no_misfits(qtbot) -> None:
    window, _ = page_with(QPushButton("Start"), QLabel("Welcome"))
    qtbot.addWidget(window)
    window.resize(400, 300)
    window.show()
    settle()
    assert misfits(window) == []
