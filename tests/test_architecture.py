"""The layout's rules, enforced: no Qt in the domain, typed and linted code, small modules."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NON_GUI_PACKAGES = ("kiosk", "capture", "sync", "hq")


def run(*argv: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True,
                          check=False, env=env)


def test_import_contracts_are_kept() -> None:
    done = run(BIN / "lint-imports")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_import_contracts_catch_qt_in_the_domain(tmp_path: Path) -> None:
    """The contract must bite: a copy of the tree with Qt imported in the domain fails it."""
    for package in (*NON_GUI_PACKAGES, "durable", "ui"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    clock = tmp_path / "kiosk" / "clock.py"
    clock.write_text(clock.read_text() + "\nimport PySide6.QtCore  # noqa\n")
    done = run(BIN / "lint-imports", cwd=tmp_path,
               env={"PYTHONPATH": str(tmp_path), "PATH": str(BIN)})
    assert done.returncode != 0
    assert "kiosk.clock -> PySide6" in done.stdout


def test_the_domain_runs_with_qt_not_importable() -> None:
    """Every non-GUI module imports, and the headless demo runs, with PySide6 blocked."""
    script = textwrap.dedent("""
        import importlib, pkgutil, sys

        class NoQt:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"PySide6", "shiboken6"}:
                    raise ImportError(f"Qt is blocked in this test: {name}")
                return None

        sys.meta_path.insert(0, NoQt())
        for package in ("kiosk", "durable", "capture", "sync", "hq"):
            module = importlib.import_module(package)
            for info in pkgutil.walk_packages(module.__path__, package + "."):
                if not info.name.endswith("__main__"):
                    importlib.import_module(info.name)
        from kiosk.commands.main import main
        sys.exit(main(["demo", "--headless"]))
    """)
    done = run(sys.executable, "-c", script)
    assert done.returncode == 0, done.stderr
    assert "Scorecard: Try the kiosk" in done.stdout


def test_ruff_finds_nothing() -> None:
    done = run(BIN / "ruff", "check", ".")
    assert done.returncode == 0, done.stdout


def test_mypy_strict_passes() -> None:
    done = run(BIN / "mypy")
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("package", [*NON_GUI_PACKAGES, "ui"])
def test_modules_stay_small(package: str) -> None:
    for path in (ROOT / package).rglob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 600, f"{path.relative_to(ROOT)} has {lines} lines: split it"


def test_public_surface_of_the_domain_is_pinned() -> None:
    import kiosk

    assert sorted(kiosk.__all__) == [
        "Accommodations", "CandidateFlow", "Clock", "ConfigError", "FakeClock", "FlowError",
        "FlowTimings", "IllegalTransition", "InterviewTemplate", "InvalidInput", "KioskError",
        "MemoryArchive", "Problem", "ResumeError", "Session", "SessionArchive",
        "SessionStatus", "Settings", "SettingsError", "Step", "SystemClock", "TemplateError",
        "find_template", "load_template",
    ]
    for name in kiosk.__all__:
        assert getattr(kiosk, name) is not None


def test_every_kiosk_error_is_drawn_in_the_tree() -> None:
    import kiosk.errors as errors

    classes = [v for v in vars(errors).values()
               if isinstance(v, type) and issubclass(v, errors.KioskError)]
    for cls in classes:
        assert cls.__name__ in (errors.__doc__ or ""), f"{cls.__name__} missing from the tree"


def test_the_staff_command_line_loads_no_media_libraries() -> None:
    """`kiosk settings`, `kiosk erase` & co. stay quick and work if a media library breaks."""
    done = run(sys.executable, "-c", "import sys, kiosk.commands.main; print(sorted(m for m in "
               "('av', 'cv2', 'faster_whisper', 'ctranslate2', 'PySide6') if m in sys.modules))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
