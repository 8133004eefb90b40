"""The kiosk-HQ wire protocol, the kiosk's outbox and HTTP client, and export bundles.

Imports `kiosk.vault` only; never Qt, `ui`, `capture` or `hq`.
"""
