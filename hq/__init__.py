"""HQ: the server kiosks sync to, its storage and the recruiters' dashboard.

Imports `sync` and `kiosk.vault` only; never Qt, `ui` or `capture`.
"""
