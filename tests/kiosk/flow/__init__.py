"""Tests of `kiosk/flow/`.
"""
