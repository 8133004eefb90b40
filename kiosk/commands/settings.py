"""`kiosk settings`."""

from __future__ import annotations

import argparse

from kiosk.commands.common import Parser, open_data_dir
from kiosk.commands.records import audit_if_initialised
from kiosk.logs import get_logger, log_event
from kiosk.settings import REGISTRY

_log = get_logger("cli")


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add `settings list|get|set|reset`."""
    settings = commands.add_parser("settings", help="show and change settings")
    sub = settings.add_subparsers(dest="settings_command", metavar="COMMAND",
                                  parser_class=Parser, required=True)
    sub.add_parser("list", help="every setting with its value and help"
                   ).set_defaults(handler=settings_list)
    get = sub.add_parser("get", help="print one setting's value")
    get.add_argument("key")
    get.set_defaults(handler=settings_get)
    put = sub.add_parser("set", help="change a setting")
    put.add_argument("key")
    put.add_argument("value")
    put.set_defaults(handler=settings_set)
    reset = sub.add_parser("reset", help="return a setting to its default")
    reset.add_argument("key")
    reset.set_defaults(handler=settings_reset)


def settings_list(args: argparse.Namespace) -> int:
    """Every setting, its value and its help."""
    _, settings = open_data_dir(args)
    for key, setting in REGISTRY.items():
        marker = "" if settings.is_default(key) else "  (changed)"
        print(f"{key} = {settings.get(key)!r}{marker}\n    {setting.title}: {setting.help}")
    return 0


def settings_get(args: argparse.Namespace) -> int:
    """One setting's value."""
    _, settings = open_data_dir(args)
    print(settings.get(args.key))
    return 0


def settings_set(args: argparse.Namespace) -> int:
    """Check and store a new value; audited."""
    data_dir, settings = open_data_dir(args)
    if args.key not in REGISTRY:
        settings.get(args.key)  # raises the standard unknown-setting error
    value = REGISTRY[args.key].parse(args.value)
    if args.key == "interview.template":  # a typo would surface only when the kiosk starts
        from kiosk.templates import find_template

        find_template(str(value), data_dir)
    settings.set(args.key, value)
    log_event(_log, "cli.setting_changed", setting=args.key)
    audit_if_initialised(data_dir, "settings.changed", setting=args.key,
                         value=settings.get(args.key))
    print(f"{args.key} = {settings.get(args.key)!r}")
    return 0


def settings_reset(args: argparse.Namespace) -> int:
    """Back to the default; audited."""
    data_dir, settings = open_data_dir(args)
    settings.reset(args.key)
    audit_if_initialised(data_dir, "settings.changed", setting=args.key, value="(default)")
    print(f"{args.key} = {settings.get(args.key)!r} (default)")
    return 0
