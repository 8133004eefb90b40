"""`kiosk init`, `kiosk unlock` and `kiosk passphrase change`."""

from __future__ import annotations

import argparse

from kiosk import keys
from kiosk.commands.common import (
    NEW_PASSPHRASE_ENV,
    PASSPHRASE_ENV,
    Parser,
    add_passphrase_options,
    open_data_dir,
    read_passphrase,
)
from kiosk.commands.records import audit_if_initialised, open_store, unlock_keys


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add `init`, `unlock` and `passphrase change`."""
    init = commands.add_parser("init", help="create this kiosk's keys and database")
    init.add_argument("--kdf-memory-mib", type=int, default=64, metavar="MIB",
                      help="Argon2id memory per passphrase attempt (default 64)")
    init.add_argument("--kdf-iterations", type=int, default=3, metavar="N",
                      help="Argon2id passes (default 3)")
    add_passphrase_options(init)
    init.set_defaults(handler=init_command)

    unlock = commands.add_parser("unlock", help="check the staff passphrase unlocks the keys")
    add_passphrase_options(unlock)
    unlock.set_defaults(handler=unlock_command)

    passphrase = commands.add_parser("passphrase", help="change the staff passphrase")
    sub = passphrase.add_subparsers(dest="passphrase_command", metavar="COMMAND",
                                    parser_class=Parser, required=True)
    change = sub.add_parser("change", help="re-wrap the keys under a new passphrase")
    add_passphrase_options(change, new=True)
    change.set_defaults(handler=passphrase_change)

    pin = commands.add_parser("staff-pin", help="set the PIN that opens the staff console")
    pin.add_argument("--pin-file", metavar="FILE", help="read the PIN from FILE")
    pin.set_defaults(handler=staff_pin_command)


def init_command(args: argparse.Namespace) -> int:
    """Create keys (asking for the passphrase twice) and the database."""
    data_dir, _ = open_data_dir(args)
    if not 8 <= args.kdf_memory_mib <= 4096 or not 1 <= args.kdf_iterations <= 20:
        raise keys.KeysError("choose --kdf-memory-mib from 8 to 4096 and --kdf-iterations "
                             "from 1 to 20")
    if (data_dir / keys.KEYS_DIR / keys.KEY_FILE).exists():  # say so before asking anything
        raise keys.AlreadyInitialisedError(f"{data_dir} already has kiosk keys; they are never "
                                           f"replaced (use `kiosk passphrase change`)")
    passphrase = read_passphrase(args.passphrase_file, PASSPHRASE_ENV,
                                 "New staff passphrase", confirm=True)
    params = keys.KdfParams(memory_kib=args.kdf_memory_mib * 1024,
                            iterations=args.kdf_iterations)
    public = keys.init_keys(data_dir, passphrase, params)
    open_store(data_dir).close()
    audit_if_initialised(data_dir, "keys.initialised", key_id=public.recipient.key_id.hex())
    print(f"Kiosk initialised in {data_dir}\n"
          f"  vault key id: {public.recipient.key_id.hex()}\n"
          f"Keep the staff passphrase safe: without it nothing recorded here can be read.")
    return 0


def unlock_command(args: argparse.Namespace) -> int:
    """Unlock and report the key id (the app unlocks the same way at start of day)."""
    data_dir, _ = open_data_dir(args)
    unlocked = unlock_keys(data_dir, args.passphrase_file)
    print(f"Unlocked: vault key id {unlocked.identity.key_id.hex()}")
    return 0


def passphrase_change(args: argparse.Namespace) -> int:
    """Re-wrap the private keys; recordings are not touched."""
    data_dir, _ = open_data_dir(args)
    old = read_passphrase(args.passphrase_file, PASSPHRASE_ENV, "Current staff passphrase")
    new = read_passphrase(args.new_passphrase_file, NEW_PASSPHRASE_ENV, "New staff passphrase",
                          confirm=True)
    keys.change_passphrase(data_dir, old, new)
    audit_if_initialised(data_dir, "keys.passphrase_changed")
    print("Passphrase changed. Recordings and records are untouched.")
    return 0


def staff_pin_command(args: argparse.Namespace) -> int:
    """Set the staff PIN (asked twice on the terminal, or from --pin-file)."""
    from kiosk import staff

    data_dir, _ = open_data_dir(args)
    keys.load_public(data_dir)  # a kiosk must be initialised first
    pin = read_passphrase(args.pin_file, "KIOSK_STAFF_PIN", "New staff PIN", confirm=True)
    staff.set_pin(data_dir, pin.strip())
    audit_if_initialised(data_dir, "staff.pin_set")
    print("Staff PIN set. Five wrong PINs in a row lock staff entry for five minutes.")
    return 0
