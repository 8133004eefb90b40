"""The demo: a scripted candidate (`scripted_candidate`) with its sample answers (`answers`),
and the headless demo interview that `kiosk demo` runs (`headless`).
"""
