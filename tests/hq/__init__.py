"""Tests of the HQ server (`hq/`), against a real HQ process on SQLite and PostgreSQL.
"""
