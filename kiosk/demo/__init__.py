"""The demo: a scripted candidate and its answers, and the headless demo interview the `kiosk demo`
command runs.
"""
