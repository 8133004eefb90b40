"""Tests of `kiosk/scoring/`.
"""
