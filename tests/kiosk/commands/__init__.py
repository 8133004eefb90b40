"""Tests of `kiosk/commands/`.
"""
