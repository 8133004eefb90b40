"""Tests of `kiosk/vault/`.
"""
