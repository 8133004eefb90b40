"""Checking what a candidate gives about themselves: a name, one contact detail, consents."""

from __future__ import annotations

import re
import unicodedata

from kiosk.errors import ConsentNeeded, InvalidInput

MAX_NAME = 100
MAX_CONTACT = 254
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{5,22}")


def check_name(name: str) -> str:
    """The name tidied (NFC, single spaces), or InvalidInput saying what to fix."""
    cleaned = " ".join(unicodedata.normalize("NFC", name).split())
    if not cleaned:
        raise InvalidInput("name", "please enter your name")
    if len(cleaned) > MAX_NAME:
        raise InvalidInput("name", f"names are limited to {MAX_NAME} characters")
    if not any(char.isalpha() for char in cleaned) or any(
        unicodedata.category(char).startswith("C") for char in cleaned
    ):
        raise InvalidInput("name", "please enter your name in letters")
    return cleaned


def check_contact(contact: str) -> str:
    """An email address or a phone number (7-15 digits), or InvalidInput."""
    cleaned = contact.strip()
    if not cleaned:
        raise InvalidInput("contact", "please enter an email address or phone number")
    if len(cleaned) > MAX_CONTACT:
        raise InvalidInput("contact", "that is too long for an email address or phone number")
    digits = sum(char.isdigit() for char in cleaned)
    if _EMAIL.fullmatch(cleaned) or (_PHONE.fullmatch(cleaned) and 7 <= digits <= 15):
        return cleaned
    raise InvalidInput("contact", "please enter a valid email address or phone number")


def check_consents(asks_ai: bool, *, recording: bool, retention: bool,
                   ai_scoring: bool | None) -> None:
    """Refuse answers the consent step cannot take: the AI question unanswered where it is
    asked, or answered where it is not (InvalidInput); recording or keeping the data not
    agreed (ConsentNeeded, naming which, so the screen can ask before anything ends)."""
    if asks_ai and ai_scoring is None:
        raise InvalidInput("ai_scoring", "this interview asks about AI-assisted scoring: "
                                         "answer yes or no")
    if not asks_ai and ai_scoring:
        raise InvalidInput("ai_scoring", "this interview uses no AI-assisted scoring")
    missing = tuple(name for name, given in (("recording", recording),
                                             ("retention", retention)) if not given)
    if missing:
        raise ConsentNeeded(missing)
