"""Compliance profiles: what a jurisdiction asks of an interview, checked against its policy.

A template's `[policy] compliance = "gdpr"` names a profile in `assets/compliance/`. The
profile says which consents are asked, whether AI-suggested scores may be enabled at all,
the longest retention allowed and the default for rejected candidates, the deadline for
candidates' requests, and the notice text. The template checker refuses a policy that breaks
its profile, so a drive cannot start with, say, a retention longer than the law allows.
docs/compliance.md says which obligation each feature meets and which remain the employer's.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import ConfigError
from kiosk.paths import assets_dir

CONSENT_ITEMS = ("recording", "retention", "ai_scoring")


@dataclass(frozen=True)
class Profile:
    """One jurisdiction's requirements for an interview."""

    id: str
    name: str
    consents: tuple[str, ...]
    ai_scoring_allowed: bool
    max_retention_days: int
    rejected_retention_days: int
    request_deadline_days: int
    languages_required: tuple[str, ...]
    notice: dict[str, str]
    self_id: dict[str, tuple[str, ...]]   # question -> answers (voluntary, for fairness checks)

    def notice_text(self, language: str, days: int) -> str:
        """The notice in `language` (else English), with the retention filled in."""
        text = self.notice.get(language) or self.notice.get("en", "")
        return text.replace("{days}", str(days))


def _profile(path: Path) -> Profile:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        profile = Profile(
            id=str(raw["id"]), name=str(raw["name"]), consents=tuple(raw["consents"]),
            ai_scoring_allowed=bool(raw["ai_scoring_allowed"]),
            max_retention_days=int(raw["max_retention_days"]),
            rejected_retention_days=int(raw["rejected_retention_days"]),
            request_deadline_days=int(raw["request_deadline_days"]),
            languages_required=tuple(raw["languages_required"]),
            notice={str(k): str(v) for k, v in raw["notice"].items()},
            self_id={str(k): tuple(str(a) for a in v)
                     for k, v in raw.get("self_id", {}).items()})
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError,
            AttributeError) as exc:
        raise ConfigError(f"compliance profile {path.name} is damaged: {exc}") from None
    if profile.id != path.stem or not set(profile.consents) <= set(CONSENT_ITEMS):
        raise ConfigError(f"compliance profile {path.name}: its id or consents are wrong")
    return profile


@functools.cache
def profiles() -> dict[str, Profile]:
    """Every shipped profile, by id."""
    return {p.stem: _profile(p) for p in sorted((assets_dir() / "compliance").glob("*.toml"))}


PREFER_NOT_TO_SAY = "prefer not to say"


def check_self_id(profile: Profile, answers: dict[str, str]) -> dict[str, str]:
    """The answers kept: known questions with offered answers; "prefer not to say" and
    unknown keys are dropped, so nothing is stored that the candidate did not choose."""
    return {question: answer for question, answer in answers.items()
            if answer in profile.self_id.get(question, ())}


def problems(profile_id: str, retention_days: int, rejected_days: int | None,
             ai_scoring: bool, languages: tuple[str, ...]) -> list[tuple[str, str]]:
    """(policy key, problem) for each way a policy breaks its profile."""
    profile = profiles().get(profile_id)
    if profile is None:
        return [("compliance", f"unknown profile '{profile_id}' (known: "
                               f"{', '.join(sorted(profiles()))})")]
    found = []
    if ai_scoring and not profile.ai_scoring_allowed:
        found.append(("ai_scoring", f"{profile.name} does not allow AI-suggested scores"))
    if retention_days > profile.max_retention_days:
        found.append(("retention_days", f"{profile.name} allows at most "
                                        f"{profile.max_retention_days} days"))
    if rejected_days is not None and rejected_days > profile.rejected_retention_days:
        found.append(("rejected_retention_days", f"{profile.name} keeps rejected candidates "
                                                 f"at most {profile.rejected_retention_days} "
                                                 f"days"))
    missing = [lang for lang in profile.languages_required if lang not in languages]
    if missing:
        found.append(("compliance", f"{profile.name} needs the interview in "
                                    f"{', '.join(missing)}"))
    return found
