"""The `kiosk` command. Each command opens what it needs, calls one library function and turns
library errors into a one-line message: exit 1 for a failed operation or bad input, exit 2
for a usage or configuration problem. No traceback reaches a person; details go to the log.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from kiosk.errors import ConfigError, KioskError, TemplateError
from kiosk.logs import configure_logging, get_logger, log_event
from kiosk.paths import resolve_data_dir
from kiosk.settings import REGISTRY, Settings

_log = get_logger("cli")


def _version() -> str:
    try:
        return version("interview-kiosk")
    except PackageNotFoundError:
        return "unknown"


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar (also used to check the docs cover every command)."""
    parser = _Parser(prog="kiosk", description="Interview Kiosk: on-site one-way video interviews.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="data directory (default: $KIOSK_DATA_DIR, else the platform's "
                             "user data directory)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = commands.add_parser("demo", help="run the demo interview with a scripted candidate")
    demo.add_argument("--headless", action="store_true",
                      help="run without a window and print every step (required for now)")
    demo.add_argument("--template", metavar="ID_OR_PATH",
                      help="interview to run (default: the interview.template setting)")
    demo.add_argument("--language", metavar="CODE", help="language the candidate chooses")
    demo.set_defaults(handler=_demo)

    templates = commands.add_parser("templates", help="check and list interview templates")
    template_commands = templates.add_subparsers(dest="templates_command", metavar="COMMAND",
                                                 parser_class=_Parser, required=True)
    check = template_commands.add_parser("check", help="check template files; list every problem")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(handler=_templates_check)
    listing = template_commands.add_parser("list", help="list the bundled templates")
    listing.set_defaults(handler=_templates_list)

    settings = commands.add_parser("settings", help="show and change settings")
    setting_commands = settings.add_subparsers(dest="settings_command", metavar="COMMAND",
                                               parser_class=_Parser, required=True)
    setting_commands.add_parser("list", help="every setting with its value and help"
                                ).set_defaults(handler=_settings_list)
    get = setting_commands.add_parser("get", help="print one setting's value")
    get.add_argument("key")
    get.set_defaults(handler=_settings_get)
    put = setting_commands.add_parser("set", help="change a setting")
    put.add_argument("key")
    put.add_argument("value")
    put.set_defaults(handler=_settings_set)
    reset = setting_commands.add_parser("reset", help="return a setting to its default")
    reset.add_argument("key")
    reset.set_defaults(handler=_settings_reset)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the kiosk command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        status: int = args.handler(args)
        return status
    except TemplateError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return exc.exit_status
    except KioskError as exc:
        print(f"kiosk: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("kiosk: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        _log.exception("cli.internal_error", extra={"kiosk_fields": {"command": args.command}})
        print(f"kiosk: internal error ({type(exc).__name__}); details are in the kiosk log",
              file=sys.stderr)
        return 1


def _open(args: argparse.Namespace) -> tuple[Path, Settings]:
    data_dir = resolve_data_dir(args.data_dir)
    settings = Settings.load(data_dir)
    level, max_bytes, backups = (settings.get(k) for k in ("log.level", "log.max_bytes",
                                                           "log.backups"))
    assert isinstance(level, str) and isinstance(max_bytes, int) and isinstance(backups, int)
    configure_logging(data_dir, level, max_bytes, backups)
    return data_dir, settings


def _demo(args: argparse.Namespace) -> int:
    from kiosk.demo import run_demo
    from kiosk.flow import FlowTimings
    from kiosk.templates import find_template

    if not args.headless:
        raise ConfigError("the kiosk window is not built yet; run `kiosk demo --headless`")
    _, settings = _open(args)
    template_ref = args.template or settings.get("interview.template")
    assert isinstance(template_ref, str)
    template = find_template(template_ref)
    if args.language and args.language not in template.languages:
        raise ConfigError(f"'{template.id}' is offered in {', '.join(template.languages)}, "
                          f"not {args.language}")
    log_event(_log, "cli.demo", template_id=template.id)
    run_demo(template, language=args.language, timings=FlowTimings.from_settings(settings))
    return 0


def _templates_check(args: argparse.Namespace) -> int:
    from kiosk.templates import load_template

    failed = False
    for file in args.files:
        try:
            template = load_template(file)
        except TemplateError as exc:
            failed = True
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            continue
        print(f"{file}: ok: '{template.id}', {len(template.questions)} questions, "
              f"{len(template.competencies)} competencies, languages "
              f"{', '.join(template.languages)}")
    return 1 if failed else 0


def _templates_list(args: argparse.Namespace) -> int:
    from kiosk.templates import bundled_template_paths, load_template

    for path in bundled_template_paths():
        template = load_template(path)
        print(f"{template.id:40} {len(template.questions)} questions  "
              f"{', '.join(template.languages):8} {template.title.get(template.default_language)}")
    return 0


def _settings_list(args: argparse.Namespace) -> int:
    _, settings = _open(args)
    for key, setting in REGISTRY.items():
        marker = "" if settings.is_default(key) else "  (changed)"
        print(f"{key} = {settings.get(key)!r}{marker}\n    {setting.title}: {setting.help}")
    return 0


def _settings_get(args: argparse.Namespace) -> int:
    _, settings = _open(args)
    print(settings.get(args.key))
    return 0


def _settings_set(args: argparse.Namespace) -> int:
    _, settings = _open(args)
    if args.key not in REGISTRY:
        settings.get(args.key)  # raises the standard unknown-setting error
    settings.set(args.key, REGISTRY[args.key].parse(args.value))
    log_event(_log, "cli.setting_changed", setting=args.key)
    print(f"{args.key} = {settings.get(args.key)!r}")
    return 0


def _settings_reset(args: argparse.Namespace) -> int:
    _, settings = _open(args)
    settings.reset(args.key)
    print(f"{args.key} = {settings.get(args.key)!r} (default)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
