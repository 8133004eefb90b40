"""Advice on a format-2 template's example sentences: too few examples make the evidence
finder guess. Advice, not problems: such a template still loads, and the kiosk still runs it."""

from __future__ import annotations

from kiosk.templates.model import InterviewTemplate

MIN_SHOWS = 4  # sentences that show the indicator, per language
MIN_NEAR_MISSES = 2  # sentences that look alike but do not show it, per language


def example_advice(template: InterviewTemplate) -> list[str]:
    """One line per indicator and language with too few examples (empty for format 1, which
    has no examples: its evidence comes from phrases only)."""
    advice: list[str] = []
    for competency in template.competencies:
        for indicator in competency.indicators:
            if indicator.description is None:
                continue  # format 1
            for language in template.languages:
                shows = len(indicator.shows.get(language, ()))
                near = len(indicator.near_misses.get(language, ()))
                if shows < MIN_SHOWS or near < MIN_NEAR_MISSES:
                    advice.append(
                        f"{competency.id} / {indicator.label} [{language}]: {shows} examples "
                        f"that show it and {near} near-misses; write at least {MIN_SHOWS} "
                        f"and {MIN_NEAR_MISSES} (docs/templates.md, \"Writing examples\")")
    return advice
