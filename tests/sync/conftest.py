"""The real HQ and kiosks of tests/hq/conftest.py, for the sync tests here too."""

from tests.hq.conftest import hq, hq_db, kiosk

__all__ = ["hq", "hq_db", "kiosk"]
