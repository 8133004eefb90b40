"""Tests of `kiosk/templates/`.
"""
