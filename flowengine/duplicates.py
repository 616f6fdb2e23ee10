"""One case per problem: telling that a request repeats an open one.

A flow's ``duplicates:`` says which fields tell it: any ``contact`` field equal
(the same person, whatever channel they came by: a phone number compares by
its last ten digits however written, text without regard to case or Turkish
İ/ı), or the same ``place`` and a similar ``subject`` (at least half of their
words shared), among the open requests started ``within`` the period before
or after. Pure functions; the engine finds the candidates and merges.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from flowengine import schema

# Words too common in a subject to say two subjects are alike.
STOPWORDS = frozenset(
    {
        "ve", "ile", "bir", "bu", "şu", "için", "çok", "daha", "gibi", "olan",
        "var", "yok", "ama", "fakat", "de", "da", "mi", "mı", "ne",
    }
)  # fmt: skip
WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def fold(text: str) -> str:
    """A form for comparing what people type: case-insensitive, and Turkish İ, I,
    ı and i all one letter (keyboards and phones mix them up)."""
    text = unicodedata.normalize("NFC", text)
    for letter in ("İ", "I", "ı"):
        text = text.replace(letter, "i")
    return " ".join(text.casefold().split())


def phone_digits(value: Any) -> str | None:
    """The digits of a value that is a phone number (at least 7 digits, and most
    of what is written), else None: an address with numbers is not a phone."""
    if not isinstance(value, str):
        return None
    digits = "".join(c for c in value if c.isdigit())
    written = [c for c in value if not c.isspace()]
    if len(digits) < 7 or len(digits) < 0.7 * len(written):
        return None
    return digits


def same_phone(a: str, b: str) -> bool:
    """The same number, with or without the country code or the leading 0."""
    tail = min(len(a), len(b), 10)
    return tail >= 7 and a[-tail:] == b[-tail:]


def same_contact(a: Any, b: Any) -> bool:
    if not isinstance(a, str) or not isinstance(b, str) or not a.strip() or not b.strip():
        return False
    phone_a, phone_b = phone_digits(a), phone_digits(b)
    if phone_a and phone_b:
        return same_phone(phone_a, phone_b)
    return fold(a) == fold(b)


def words(text: Any) -> set[str]:
    if not isinstance(text, str):
        return set()
    return {w for w in WORD.findall(fold(text)) if w not in STOPWORDS}


def similar_subjects(a: Any, b: Any) -> bool:
    left, right = words(a), words(b)
    if not left or not right:
        return False
    return len(left & right) / len(left | right) >= 0.5


def reason(
    spec: schema.DuplicatesDoc, case: Mapping[str, Any], other: Mapping[str, Any]
) -> str | None:
    """Why ``other`` looks like the same request as ``case`` (in Turkish), or None."""
    for name in spec.contact:
        if same_contact(case.get(name), other.get(name)):
            return f"aynı iletişim bilgisi ({name})"
    if spec.place and spec.subject:
        here, there = case.get(spec.place), other.get(spec.place)
        same_place = isinstance(here, str) and isinstance(there, str) and fold(here) == fold(there)
        if same_place and similar_subjects(case.get(spec.subject), other.get(spec.subject)):
            return f"aynı {spec.place}, benzer {spec.subject}"
    return None
