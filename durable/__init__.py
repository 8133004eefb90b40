"""Durable file writes, for every package of ours: what is written survives a power cut.

Imports nothing of ours (an import-linter contract keeps it so), so the kiosk, the vault,
`sync` and HQ may all use it.
"""
