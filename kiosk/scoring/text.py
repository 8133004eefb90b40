"""Turning spoken or written text into comparable tokens: the same rules for phrases and words.

Tokens are cut by Unicode category, not by `re`'s `\\w`, because `\\w` does not count the
Devanagari vowel signs and virama (categories Mn and Mc) as word characters and would cut
"मैंने" into pieces. English tokens are lightly stemmed so that "apologised", "apologized"
and "apologise" meet; tokens in other scripts are left whole.
"""

from __future__ import annotations

import unicodedata

# Apostrophes (straight, curly, modifier letter) join a word rather than split it, so "I'd"
# and "I\u2019d" both become "id".
_APOSTROPHES = frozenset("'`\u2019\u02bc")
_NO_UNDOUBLE = frozenset("lsz")  # "called" -> "call", not "cal"
_VOWELS = frozenset("aeiouy")


def normalise(text: str) -> list[str]:
    """The comparable tokens of `text`: NFKC, lower case, no punctuation, English stemmed."""
    return [_stem(token) for token in _tokens(unicodedata.normalize("NFKC", text).casefold())]


def _tokens(text: str) -> list[str]:
    """Split on anything that is not a letter, mark or digit (apostrophes are dropped)."""
    tokens: list[str] = []
    current: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if char in _APOSTROPHES or category == "Cf":  # Cf: zero-width joiners inside a word
            continue
        if category[0] in "LMN":
            current.append(char)
        elif current:
            tokens.append("".join(current))
            current = []
    if current:
        tokens.append("".join(current))
    return tokens


def _stem(token: str) -> str:
    """A conservative English stem; anything not plain ASCII letters is returned as is."""
    if not (token.isascii() and token.isalpha()) or len(token) <= 3:
        return token
    word = _strip_inflection(token)
    if word.endswith("ly") and len(word) >= 6:  # "honestly" -> "honest", not "reply" -> "rep"
        word = word[:-2]
    if len(word) > 3 and word.endswith("e"):  # "apologise" meets "apologis(ed)"
        word = word[:-1]
    # British and American spellings meet: -ize/-ise, -yze/-yse, -ization/-isation.
    word = word.replace("ization", "isation")
    if word.endswith("iz"):
        word = word[:-2] + "is"
    elif word.endswith("yz"):
        word = word[:-2] + "ys"
    return word


def _strip_inflection(word: str) -> str:
    """Remove one plural, past or progressive ending, if what is left is still a word."""
    if word.endswith(("ies", "ied")) and len(word) > 4:
        return word[:-3] + "y"  # "replies", "replied" -> "reply"
    if word.endswith("eed"):
        return word[:-1] if len(word) > 5 else word  # "agreed" -> "agree"; "need" stays
    for suffix in ("ing", "ed"):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3 and _VOWELS & set(stem):
            if (len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in _VOWELS
                    and stem[-1] not in _NO_UNDOUBLE):
                stem = stem[:-1]  # "stopped" -> "stop"
            return stem
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]  # "listens" -> "listen"; "process", "focus", "this" stay
    return word
