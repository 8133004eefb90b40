"""Tests of `kiosk/uplink/`.
"""
