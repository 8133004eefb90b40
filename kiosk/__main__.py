"""`python -m kiosk` runs the kiosk command."""

import sys

from kiosk.commands.main import main

sys.exit(main())
