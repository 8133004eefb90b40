"""The kiosk-HQ wire protocol, the kiosk's outbox and HTTP client, and export bundles.

Imports `durable` only of ours; never `kiosk`, Qt, `ui`, `capture` or `hq`.
"""
