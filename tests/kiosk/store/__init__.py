"""Tests of `kiosk/store/`.
"""
