"""The phone field's shortcut for North American numbers in E.164 form answers as libphonenumber does."""
import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from linx_core.rules.fields import Phone
from linx_core.text import has_controls


def by_libphonenumber(value):
    """What the field answered before the shortcut: the number, or None for a refusal."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return formatted if formatted == value else None


def by_field(value):
    try:
        return Phone().deserialize(value)
    except ValidationError:
        return None


def test_every_area_code_the_shortcut_takes_is_a_number_libphonenumber_takes():
    for area in range(200, 1000):
        for rest in ("0000000", "1234567", "5550123", "9999999"):
            value = f"+1{area}{rest}"
            assert Phone.NANP_E164.fullmatch(value)
            assert by_field(value) == by_libphonenumber(value) == value


@given(st.from_regex(r"\A\+1[0-9]{8,12}\Z") | st.from_regex(r"\A\+1[2-9][0-9]{9}\s?\Z") | st.text(max_size=16))
def test_the_field_answers_as_libphonenumber(value):
    expected = by_libphonenumber(value.strip()) if value.strip() and not has_controls(value) else None
    assert by_field(value) == expected


@pytest.mark.parametrize("value", ["+1647123456", "+164712345678", "+11647123456", "+10471234567",
                                   "+1647１２３4567", "+16471234567\n", " +16471234567"])
def test_near_misses_are_not_taken_by_the_shortcut(value):
    assert not Phone.NANP_E164.fullmatch(value)
