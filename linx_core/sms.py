"""SMS length: how many segments a text costs.

A text made only of GSM 03.38 characters is sent as GSM-7: 160 septets fit one
message; a longer text is split into segments of 153 (7 septets go to the
concatenation header). A character of the extension table (``€ [ ] { } \\ ^ ~ |``
and form feed) costs two septets (escape + code), and the pair is never split
across segments. Any other character makes the whole text UCS-2: 70 UTF-16
code units in one message, 67 per segment, and a surrogate pair (an emoji, say)
is never split either. This is how carriers and Twilio count.
"""

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM_SINGLE, GSM_SEGMENT = 160, 153
UCS2_SINGLE, UCS2_SEGMENT = 70, 67


def is_gsm(text: str) -> bool:
    """True when ``text`` can be sent as GSM-7."""
    return all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text)


def encoding(text: str) -> str:
    """``"GSM-7"`` or ``"UCS-2"``."""
    return "GSM-7" if is_gsm(text) else "UCS-2"


def _units(text: str) -> tuple[list[int], int, int]:
    """The cost of each character, in septets (GSM-7) or UTF-16 code units (UCS-2)."""
    if is_gsm(text):
        return [2 if ch in GSM_EXTENSION else 1 for ch in text], GSM_SINGLE, GSM_SEGMENT
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text], UCS2_SINGLE, UCS2_SEGMENT


def length(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) that ``text`` takes."""
    return sum(_units(text)[0])


def segments(text: str) -> int:
    """How many SMS segments ``text`` is sent as (0 for an empty text)."""
    costs, single, per_segment = _units(text)
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > per_segment:  # a pair that does not fit starts the next segment
            count, used = count + 1, 0
        used += cost
    return count
