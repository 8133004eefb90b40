"""Rubric evidence and suggested levels for a human reviewer, and delivery facts.

What this package exports (`delivery`, `evidence`, `suggestions`, `text`) is pure: it imports
no store, vault or model (an import-linter contract in pyproject.toml keeps it so). The
service that scores a stored session (`kiosk.scoring.service`) and the scorecard built from
it (`kiosk.scoring.scorecard`) read the store, and are imported by name.

Pure text matching over transcripts: nothing here looks at faces, emotion, tone of voice,
accent or fluency, by design (see docs/scoring.md). Suggestions exist only when the template's
policy enables AI-assisted scoring and the candidate consented; unclear speech is routed to a
person and never lowers a level; delivery facts are reported and never scored.
"""

from kiosk.scoring.delivery import DeliveryFacts, delivery_facts
from kiosk.scoring.evidence import STRUCTURE_CUES, Evidence, find_evidence
from kiosk.scoring.suggestions import (
    Suggestion,
    answer_evidence,
    mmss,
    suggest,
    suggested_level,
)
from kiosk.scoring.text import normalise

__all__ = [
    "STRUCTURE_CUES",
    "DeliveryFacts",
    "Evidence",
    "Suggestion",
    "answer_evidence",
    "delivery_facts",
    "find_evidence",
    "mmss",
    "normalise",
    "suggest",
    "suggested_level",
]
