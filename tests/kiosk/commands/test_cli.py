"""The `kiosk` command: one-line errors, exit statuses 0/1/2, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.commands import main
from kiosk.demo.headless import SAMPLE_MEDIA_NOTICE
from kiosk.templates.bundled import bundled_template_paths
from tests.kiosk.conftest import SMALL_TEMPLATE

GOOD = SMALL_TEMPLATE.format(ai="false", mode="video", retakes=1, probes="", follow_ups="")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_templates_check_passes_good_files(capsys, tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    status, out, err = run(capsys, "templates", "check", str(path))
    assert status == 0 and err == ""
    assert out == f"{path}: ok: 'small-test', 3 questions, 1 competencies, languages en, hi\n"


def test_templates_check_lists_every_problem_of_every_file(capsys, tmp_path: Path) -> None:
    good, bad, missing = tmp_path / "good.toml", tmp_path / "bad.toml", tmp_path / "none.toml"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(GOOD.replace("think_seconds = 30", "think_seconds = 0")
                   .replace('"talk"]', '"tact"]', 1), encoding="utf-8")
    status, out, err = run(capsys, "templates", "check", str(bad), str(good), str(missing))
    assert status == 1
    assert "good.toml: ok" in out
    lines = err.splitlines()
    assert len(lines) == 3
    text = bad.read_text(encoding="utf-8").splitlines()
    think = text.index("think_seconds = 0") + 1
    named = text.index('competencies = ["tact"]') + 1
    assert lines[0].startswith(f"{bad}:{think}: questions[1].think_seconds: must be a positive")
    assert lines[1].startswith(f"{bad}:{named}: questions[1].competencies: 'tact' is not defined")
    assert lines[2] == f"{missing}: cannot read: No such file or directory"
    assert "Traceback" not in err


def test_templates_list_shows_the_bundled_interviews(capsys) -> None:
    status, out, _ = run(capsys, "templates", "list")
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()] == [
        "campus-graduate-software-engineer", "demo", "retail-sales-associate",
        "walk-in-customer-support-associate"]
    assert all(line.split()[1] == "bundled" for line in out.splitlines())


def test_templates_list_shows_what_hq_published(capsys, tmp_path: Path) -> None:
    from kiosk.templates import HQ_TEMPLATES_DIR

    published = tmp_path / "data" / HQ_TEMPLATES_DIR
    published.mkdir(parents=True)
    (published / "small-test.toml").write_text(GOOD, encoding="utf-8")
    (published / "broken.toml").write_text("format = 1\nid = ", encoding="utf-8")
    status, out, err = run(capsys, "--data-dir", str(tmp_path / "data"), "templates", "list")
    rows = {line.split()[0]: line for line in out.splitlines()}
    assert rows["small-test"].split()[1:3] == ["from", "HQ"] and "Small" in rows["small-test"]
    assert rows["demo"].split()[1] == "bundled"
    assert status == 1 and "broken.toml: cannot be used" in err and "Traceback" not in err


def test_usage_errors_exit_2_in_one_line(capsys) -> None:
    for argv in (["templates", "check"], ["frobnicate"], ["settings"]):
        with pytest.raises(SystemExit) as caught:
            main.main(argv)
        assert caught.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error:" in err


def test_no_command_prints_help_and_exits_2(capsys) -> None:
    status, _, err = run(capsys)
    assert status == 2 and "demo" in err and "templates" in err


def test_settings_commands_round_trip(capsys) -> None:
    assert run(capsys, "settings", "set", "flow.idle_seconds", "90")[:2] == (
        0, "flow.idle_seconds = 90\n")
    assert run(capsys, "settings", "get", "flow.idle_seconds")[1] == "90\n"
    status, out, _ = run(capsys, "settings", "list")
    assert status == 0 and "flow.idle_seconds = 90  (changed)" in out
    assert run(capsys, "settings", "reset", "flow.idle_seconds")[1] == (
        "flow.idle_seconds = 60 (default)\n")


@pytest.mark.parametrize(("argv", "message"), [
    (["settings", "set", "flow.idle_seconds", "soon"], "must be a whole number, got 'soon'"),
    (["settings", "set", "flow.idle_seconds", "1"], "must be at least 10"),
    (["settings", "get", "no.such"], "unknown setting 'no.such'"),
    (["settings", "set", "no.such", "1"], "unknown setting 'no.such'"),
    # An interview that does not exist is refused when it is chosen, not when the kiosk opens.
    (["settings", "set", "interview.template", "customer-support-associate"],
     "no bundled interview 'customer-support-associate' (bundled: "),
])
def test_settings_errors_are_one_line_and_exit_2(capsys, argv: list[str], message: str) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert err == f"kiosk: error: {err.split('error: ', 1)[1]}" and message in err
    assert err.count("\n") == 1


def test_corrupt_settings_file_is_a_clear_error(capsys, fresh_data_dir: Path) -> None:
    fresh_data_dir.mkdir(parents=True)
    (fresh_data_dir / "settings.toml").write_text("[flow\n")
    status, _, err = run(capsys, "settings", "list")
    assert status == 2 and "is not valid TOML" in err and err.count("\n") == 1


def test_data_dir_that_is_a_file(capsys, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    status, _, err = run(capsys, "--data-dir", str(tmp_path / "f"), "settings", "list")
    assert status == 2 and "exists but is not a directory" in err


needs_espeak = pytest.mark.skipif(__import__("shutil").which("espeak-ng") is None,
                                  reason="espeak-ng is not installed: run make test")


@needs_espeak
def test_demo_headless_runs_a_real_session_with_labelled_sample_media(
        capsys, tmp_path: Path, fresh_data_dir: Path) -> None:
    out_json = tmp_path / "card.json"
    status, out, err = run(capsys, "demo", "--headless", "--json", str(out_json))
    assert status == 0, err
    assert SAMPLE_MEDIA_NOTICE in out
    assert "memory wiped (finished)" in out
    card = json.loads(out_json.read_text())["scorecard"]
    assert card["session"]["status"] == "completed"
    heard = card["questions"][0]["transcript"]["excerpt"].lower()
    assert "student" in heard and "example" in heard  # espeak's speech, really transcribed
    assert card["questions"][2]["typed_excerpt"].startswith("One thing that felt easy")
    recording = card["questions"][0]["recording"]  # it went through the real recorder
    assert recording["frames"] > 100 and recording["dropped_frames"] == 0
    assert abs(recording["drift"]) < 0.04 and recording["ended_by"] == "stop"
    assert all(c["suggestion"] for c in card["competencies"])  # the demo scores (AI consented)
    # The candidate is named by code only (the transcript may hold what they said, of course).
    assert "Asha Demo" not in json.dumps(card) and "asha.demo@" not in json.dumps(card)
    assert "Scorecard ready" in out and f"scorecard {card['candidate']['reference']}" in out
    assert (fresh_data_dir / "kiosk.db").exists()  # kept where the user said
    # The demo's second answer names no next step: the kiosk asks its follow-up, at once.
    assert "follow-up for 'something-you-learned-recently': asked (probe 'next-step')" in out
    follow_up = card["questions"][1]["follow_up"]
    assert follow_up["outcome"] == "asked" and follow_up["prompt"].startswith("What will you")
    assert follow_up["because"] == ("the answer showed no evidence of “Suggests a change or "
                                    "next step”")
    assert "next step" in follow_up["transcript"]["excerpt"].lower()
    assert "Follow-up asked:" in out


@needs_espeak
def test_demo_with_an_interview_that_does_not_score(capsys, tmp_path: Path) -> None:
    retail = next(p for p in bundled_template_paths() if p.stem == "retail-sales-associate")
    no_ai = tmp_path / "retail-without-ai.toml"  # the bundled interviews all score now
    no_ai.write_text(retail.read_text(encoding="utf-8").replace(
        "\nai_scoring = true", "\nai_scoring = false", 1), encoding="utf-8")
    out_json = tmp_path / "card.json"
    status, out, _ = run(capsys, "demo", "--headless", "--template", str(no_ai),
                         "--json", str(out_json))
    assert status == 0
    card = json.loads(out_json.read_text())["scorecard"]
    assert [q["answered"] for q in card["questions"]] == [True] * 5
    assert all(c["suggestion"] is None for c in card["competencies"])
    assert "no suggestions: AI-assisted scoring is off" in out


@needs_espeak
def test_demo_with_answer_files(capsys, tmp_path: Path) -> None:
    from capture.audio_file import encode_aac
    from kiosk.transcription.sample_speech import synthesise

    answers = tmp_path / "answers"
    answers.mkdir()
    for name, text in (("1.m4a", "My first answer is about teamwork."),
                       ("2.m4a", "My second answer is about learning.")):
        with (answers / name).open("wb") as sink:
            encode_aac(synthesise(text), 16_000, sink)
    out_json = tmp_path / "card.json"
    status, _, err = run(capsys, "demo", "--headless", "--answers", str(answers),
                         "--json", str(out_json))
    assert status == 0, err
    card = json.loads(out_json.read_text())["scorecard"]
    assert "first" in card["questions"][0]["transcript"]["excerpt"].lower()
    assert "second" in card["questions"][1]["transcript"]["excerpt"].lower()


def test_demo_errors(capsys, tmp_path: Path) -> None:
    status, _, err = run(capsys, "demo", "--headless", "--answers", str(tmp_path / "none"))
    assert status == 2 and "not a folder" in err
    status, _, err = run(capsys, "demo", "--headless", "--language", "ta")
    assert status == 2 and "is offered in en, hi, not ta" in err
    status, _, err = run(capsys, "demo", "--headless", "--template", "nope")
    assert status == 2 and "no bundled interview 'nope'" in err


def test_demo_with_a_broken_template_file(capsys, tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace("retakes = 0", "retakes = -2"), encoding="utf-8")
    status, _, err = run(capsys, "demo", "--headless", "--template", str(path))
    assert status == 1 and "questions[2].retakes: must be 0 or more" in err


def test_an_unexpected_error_is_one_line_and_logged(capsys, monkeypatch,
                                                   fresh_data_dir: Path) -> None:
    def explode(args: object) -> int:
        raise ValueError("secret candidate detail")

    from kiosk.commands import common, settings

    monkeypatch.setattr(settings, "settings_list", explode)
    common.open_data_dir(main.build_parser().parse_args([]))  # logging into the data dir
    status, _, err = run(capsys, "settings", "list")
    assert status == 1
    assert err == "kiosk: internal error (ValueError); details are in the kiosk log\n"
    log = (fresh_data_dir / "logs" / "kiosk.jsonl").read_text()
    assert '"error_type": "ValueError"' in log and "secret candidate detail" not in log


def test_the_console_scripts_are_installed_and_answer() -> None:
    bin_dir = Path(sys.executable).parent
    done = subprocess.run([bin_dir / "kiosk", "--version"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0 and done.stdout.startswith("kiosk ")
    done = subprocess.run([bin_dir / "kiosk-hq", "--version"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0 and done.stdout.startswith("kiosk-hq ")
    done = subprocess.run([sys.executable, "-m", "kiosk", "templates", "check", "/nonexistent"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr


SHARED_VIDEO = Path(__file__).resolve().parents[3].parent / "shared/data/video/derived_brbk7n.mp4"


@needs_espeak
@pytest.mark.skipif(not SHARED_VIDEO.exists(),
                    reason=f"shared recordings not found at {SHARED_VIDEO}")
def test_demo_with_a_real_talking_head_video(capsys, tmp_path: Path) -> None:
    out_json = tmp_path / "card.json"
    status, out, err = run(capsys, "demo", "--headless", "--video", str(SHARED_VIDEO),
                           "--json", str(out_json))
    assert status == 0, err
    assert "check face: ok: We can see your face." in out  # the real device check
    card = json.loads(out_json.read_text())["scorecard"]
    heard = card["questions"][0]["transcript"]["excerpt"].lower()
    assert "now" in heard and card["questions"][0]["recording"]["frames"] == 75
