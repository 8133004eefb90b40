"""The `kiosk` command's subcommands, one module per area; `kiosk.commands.main` assembles them.

Each handler opens what it needs, calls one library function, prints a result and returns
an exit status. Library errors propagate to `kiosk.commands.main.main`, which prints them
as one line.
"""
