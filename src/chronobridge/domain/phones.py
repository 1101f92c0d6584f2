"""Phone numbers: DrChrono's free text to E.164 and back.

`phonenumbers.is_valid_number` rejects the 555-01xx numbers that synthetic data (and the
emulator) use, so a number is accepted when it is *possible* (right length for its country),
not when it is assigned (dependencies §5.7). That includes numbers that only work locally:
seven digits without an area code, like the emulator's `555-0199`, become `+15550199` (what
phonenumbers formats; not dialable from outside the area, and written back as `555-0199`).

Parsing with phonenumbers costs ~16 µs; the sync maps thousands of patients a second, so the
plain North-American shapes (7 or 10 digits, or 11 starting with 1, with the usual punctuation)
take a fast path that gives the same answer (a property test checks them against phonenumbers).
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberFormat

__all__ = ["e164_digits", "to_drchrono", "to_e164"]

_AREA_FIRST = frozenset("23456789")  # area codes never start with 0 or 1


def to_e164(raw: str, *, region: str = "US") -> str | None:
    """`"(555) 010-0100"` → `"+15550100100"`; None when it is not a possible number."""
    text = raw.strip()
    if not text:
        return None
    if region == "US":
        fast = _nanp(text)
        if fast is not None:
            return fast
    return _slow(text, region)


def e164_digits(raw: str, *, region: str = "US") -> str | None:
    """The E.164 number without its `+` (what matching compares), or None."""
    number = to_e164(raw, region=region)
    return number[1:] if number else None


def to_drchrono(e164: str) -> str:
    """An E.164 number the way DrChrono writes it: `(555) 010-0100` for +1, else international."""
    if e164.startswith("+1") and e164[1:].isdigit():
        if len(e164) == 12:
            return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
        if len(e164) == 9:
            return f"{e164[2:5]}-{e164[5:]}"
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def _nanp(text: str) -> str | None:
    plus = text.startswith("+")
    digits = _strip_separators(text[1:] if plus else text)
    if not (digits.isascii() and digits.isdigit()):
        return None
    if len(digits) == 11 and digits[0] == "1" and digits[1] in _AREA_FIRST:
        return "+" + digits
    if len(digits) in (7, 10) and digits[0] in _AREA_FIRST and not plus:
        return "+1" + digits
    return None


def _strip_separators(text: str) -> str:
    # str.replace beats translate and re.sub for these few characters (measured).
    return text.replace(" ", "").replace("-", "").replace("(", "").replace(")", "").replace(".", "")


def _slow(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
