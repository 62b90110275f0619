"""SMS segment counting (GSM-7 with its extension table, else UCS-2), and the seeds' initial SMS."""
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linx_core.secrets import new_token
from linx_core.services import notifications
from linx_core.sms import GSM_BASIC, GSM_EXTENSION, encoding, length, segments
from linx_core.store.models import Business, Workflow

from .conftest import seed_examples


@pytest.mark.parametrize("text, expected", [
    ("", 0),
    ("a", 1),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),
    ("a" * 307, 3),
    ("a" * 459, 3),
    ("a" * 460, 4),
    ("€" * 80, 1),            # extension characters cost two septets: 160
    ("€" * 81, 2),
    ("a" * 159 + "€", 2),     # 161 septets
    ("a" * 158 + "€", 1),     # 160 septets
    ("a" * 152 + "€" + "a" * 152, 3),  # 306 septets, but the escape pair is not split across segments
    ("a" * 151 + "€" + "a" * 152, 2),  # 305 septets; the pair fits the first segment exactly
    ("\f", 1),
    ("line one\nline two\r", 1),
    ("Ça coûte 5 € — ok", 1),  # the em dash is not GSM: UCS-2, 17 code units
    ("ж" * 70, 1),
    ("ж" * 71, 2),
    ("ж" * 134, 2),
    ("ж" * 135, 3),
    ("😀" * 35, 1),           # 70 UTF-16 code units
    ("😀" * 36, 2),
    ("a" * 66 + "😀" + "a" * 4, 2),   # 72 units; the pair does not fit the first 67
    ("a" * 65 + "😀" + "a" * 67, 2),  # 134 units; the pair ends the first segment exactly
    ("a" * 66 + "😀" + "a" * 66, 3),  # 134 units, but the surrogate pair is not split
])
def test_segments(text, expected):
    assert segments(text) == expected


def test_gsm_alphabet_is_the_standard_one():
    assert len(GSM_BASIC) == 127  # 128 codes less the escape
    assert len(GSM_EXTENSION) == 10
    assert not GSM_BASIC & GSM_EXTENSION
    assert "ç" not in GSM_BASIC and "Ç" in GSM_BASIC and "`" not in GSM_BASIC
    assert encoding("Hello {world} [ok] ~ | ^ \\ €") == "GSM-7"
    assert encoding("Hello `world`") == "UCS-2"
    assert encoding("Hi 😀") == "UCS-2"


def test_length_counts_septets_or_code_units():
    assert length("a€") == 3
    assert length("ж😀") == 3


gsm_plain = st.text(alphabet=sorted(GSM_BASIC), max_size=700)
bmp_non_gsm = st.text(alphabet=st.characters(min_codepoint=0x400, max_codepoint=0x4FF), min_size=1, max_size=400)


@given(gsm_plain)
def test_plain_gsm_text_follows_160_and_153(text):
    n = len(text)
    assert segments(text) == (0 if n == 0 else 1 if n <= 160 else math.ceil(n / 153))


@given(bmp_non_gsm)
def test_bmp_ucs2_text_follows_70_and_67(text):
    n = len(text)
    assert segments(text) == (1 if n <= 70 else math.ceil(n / 67))


@given(st.text(max_size=400))
def test_an_unsplit_pair_wastes_at_most_one_unit_per_segment(text):
    cost = length(text)
    single, per = (160, 153) if encoding(text) == "GSM-7" else (70, 67)
    if cost <= single:
        assert segments(text) == (1 if cost else 0)
    else:
        assert math.ceil(cost / per) <= segments(text) <= math.ceil(cost / (per - 1))


@pytest.mark.parametrize("index", range(4))
def test_the_initial_sms_of_each_seed_example_fits_two_segments(api, rt, index):
    created = api.create(None, raw=seed_examples()[index])
    assert created.status_code == 201, created.get_json()
    workflow = Workflow.get_by_id(created.get_json()["id"])
    business = Business.get_by_id(workflow.business_id)
    # a realistic public address, longer than the default one
    rt_url = "https://linx.payments.example-business.com"
    link = f"{rt_url}/l/{new_token()}"
    subject, sms, text, html = notifications.render(rt, workflow, business, "INITIAL", link)
    assert link in sms
    assert json.loads(seed_examples()[index])["parameters"]["introductoryMessage"] in sms
    assert business.display_name in sms
    assert encoding(sms) == "GSM-7"
    assert segments(sms) <= 2, (segments(sms), length(sms), sms)


def test_a_first_sms_longer_than_two_segments_is_refused(api):
    body = json.loads(seed_examples()[0])
    body["parameters"]["introductoryMessage"] = "Ünïcödé makes every character count double. " * 3
    response = api.create(body)
    assert response.status_code == 422
    assert ("parameters.introductoryMessage", "SMS_TOO_LONG") in {
        (e["path"], e["errorCode"]) for e in response.get_json()["errors"]}
    body["parameters"]["channel"] = "EMAIL"
    body["parameters"]["email"] = "john.doe@example.com"
    assert api.create(body).status_code == 201  # email has no segments
