"""Tests of `kiosk/transcription/`.
"""
