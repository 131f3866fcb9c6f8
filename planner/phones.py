"""Phone numbers as the support resources write them, and as a phone dials them.

A resource's `phone` may list several numbers ("0800 111 0 111 / 0800 111 0 222 / 116 123"); a tel: link
carries one. A slash with spaces around it separates numbers; one inside a note ("135 (CABA/GBA)") does not."""
from __future__ import annotations

import re


def phone_numbers(phone: str | None) -> list[str]:
    """Each number of a phone field, as written."""
    return [p.strip() for p in re.split(r"\s+/\s+", phone or "") if re.search(r"[0-9]", p)]


def tel(phone: str | None) -> str:
    """The characters to dial for a tel: link: the first number's, where the field lists several."""
    first = (phone_numbers(phone) or [""])[0]
    return re.sub(r"[^0-9+*#]", "", first)


def first_number(phone: str | None) -> str:
    """The first number as written, for a one-tap button's label."""
    return (phone_numbers(phone) or [phone or ""])[0]
