"""Qt runs offscreen in tests, from fresh settings; each test gets an unlocked demo kiosk."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
