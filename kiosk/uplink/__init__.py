"""The kiosk's link to HQ (the HQ server itself is the top-level `hq/`): enrollment, the items
it sends, the sender that drains the outbox, the heartbeat it sends first in each pass (and
the app's status it reports), and export bundles for a removable drive.
"""
