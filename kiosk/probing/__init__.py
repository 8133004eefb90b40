"""Follow-up probes at the kiosk: hearing each take as it is recorded, and deciding, when a
kept answer needs it, whether to ask its question's probe (the rule: `kiosk.scoring.probes`)."""

from kiosk.probing.decider import Decision, FollowUpDecider

__all__ = ["Decision", "FollowUpDecider"]
