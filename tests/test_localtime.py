"""The customer's time zone (linx_core.localtime): from the phone number's region, else the business's, else UTC."""
import datetime as dt
from types import SimpleNamespace

from linx_core import localtime

WHEN = dt.datetime(2026, 12, 3, 19, 5, tzinfo=dt.UTC)


def test_a_phone_number_gives_the_zone_of_its_region():
    assert str(localtime.zone_for_phone("+14165550100")) == "America/Toronto"
    assert str(localtime.zone_for_phone("+16471234567")) == "America/Toronto"  # outside the plan: by its prefix
    assert str(localtime.zone_for_phone("+33612345678")) == "Europe/Paris"


def test_zones_that_agree_at_the_moment_shown_count_as_one():
    uk = "+447911123456"  # a UK mobile: London, Guernsey, Jersey, Isle of Man, all at one offset
    assert localtime.message_time(WHEN, localtime.zone_for_phone(uk, WHEN)) == "Dec 03, 2026 19:05 GMT"
    july = dt.datetime(2026, 7, 3, 19, 5, tzinfo=dt.UTC)
    assert localtime.message_time(july, localtime.zone_for_phone(uk, july)) == "Jul 03, 2026 20:05 BST"
    toronto = SimpleNamespace(phone_number="+14165550100")
    assert localtime.message_time(july, localtime.customer_zone(toronto, None, july)) == "Jul 03, 2026 15:05 EDT"
    uk_customer = SimpleNamespace(phone_number=uk)
    assert localtime.message_time(july, localtime.customer_zone(uk_customer, None, july)) == "Jul 03, 2026 20:05 BST"


def test_a_number_that_spans_zones_or_none_at_all_gives_no_zone():
    assert localtime.zone_for_phone("+18005550100") is None  # toll-free: the whole plan
    assert localtime.zone_for_phone("+79161234567") is None  # a mobile of a country of eleven zones
    assert localtime.zone_for_phone(None) is None and localtime.zone_for_phone("not a number") is None


def test_the_customer_zone_falls_back_to_the_business_and_then_utc():
    business = SimpleNamespace(settings={"timeZone": "America/Vancouver"})
    by_phone = SimpleNamespace(phone_number="+14165550100")
    by_email = SimpleNamespace(phone_number=None)
    assert str(localtime.customer_zone(by_phone, business)) == "America/Toronto"
    assert str(localtime.customer_zone(by_email, business)) == "America/Vancouver"
    assert localtime.customer_zone(by_email, SimpleNamespace(settings={})) is dt.UTC
    assert localtime.customer_zone(by_email, SimpleNamespace(settings={"timeZone": "Mars/Olympus"})) is dt.UTC


def test_a_message_time_names_its_zone():
    assert localtime.message_time(WHEN, localtime.zone("America/Toronto")) == "Dec 03, 2026 14:05 EST"
    assert localtime.message_time(WHEN, localtime.zone("America/Sao_Paulo")) == "Dec 03, 2026 16:05 UTC-03"
    assert localtime.message_time(WHEN.replace(tzinfo=None), dt.UTC) == "Dec 03, 2026 19:05 UTC"
