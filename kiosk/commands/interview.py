"""`kiosk demo` and `kiosk templates`."""

from __future__ import annotations

import argparse
import sys

from kiosk.commands.common import Parser, open_data_dir
from kiosk.errors import ConfigError, TemplateError
from kiosk.logs import get_logger, log_event

_log = get_logger("cli")


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add `demo` and `templates`."""
    demo = commands.add_parser("demo", help="run the demo interview with a scripted candidate")
    demo.add_argument("--headless", action="store_true",
                      help="run without a window and print every step (required for now)")
    demo.add_argument("--template", metavar="ID_OR_PATH",
                      help="interview to run (default: the interview.template setting)")
    demo.add_argument("--language", metavar="CODE", help="language the candidate chooses")
    demo.set_defaults(handler=demo_command)

    templates = commands.add_parser("templates", help="check and list interview templates")
    sub = templates.add_subparsers(dest="templates_command", metavar="COMMAND",
                                   parser_class=Parser, required=True)
    check = sub.add_parser("check", help="check template files; list every problem")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(handler=templates_check)
    sub.add_parser("list", help="list the bundled templates").set_defaults(handler=templates_list)


def demo_command(args: argparse.Namespace) -> int:
    """Drive a scripted candidate through the chosen interview."""
    from kiosk.demo import run_demo
    from kiosk.flow import FlowTimings
    from kiosk.templates import find_template

    if not args.headless:
        raise ConfigError("the kiosk window is not built yet; run `kiosk demo --headless`")
    _, settings = open_data_dir(args)
    template_ref = args.template or settings.get("interview.template")
    assert isinstance(template_ref, str)
    template = find_template(template_ref)
    if args.language and args.language not in template.languages:
        raise ConfigError(f"'{template.id}' is offered in {', '.join(template.languages)}, "
                          f"not {args.language}")
    log_event(_log, "cli.demo", template_id=template.id)
    run_demo(template, language=args.language, timings=FlowTimings.from_settings(settings))
    return 0


def templates_check(args: argparse.Namespace) -> int:
    """Check each file; print every problem; exit 1 if any file has one."""
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


def templates_list(args: argparse.Namespace) -> int:
    """One line per bundled template."""
    from kiosk.templates import bundled_template_paths, load_template

    for path in bundled_template_paths():
        template = load_template(path)
        print(f"{template.id:40} {len(template.questions)} questions  "
              f"{', '.join(template.languages):8} {template.title.get(template.default_language)}")
    return 0
