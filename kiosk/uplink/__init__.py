"""The kiosk's link to HQ (the HQ server itself is the top-level `hq/`): enrollment, the items
it sends, the sender that drains the outbox, and export bundles for a removable drive.
"""
