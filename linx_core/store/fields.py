"""Fields the models share: exact money and UTC timestamps."""
import datetime as _dt
import json
from decimal import Decimal
from typing import Any

import peewee

UTC = _dt.UTC


class MoneyField(peewee.BigIntegerField):
    """A Decimal stored exactly as a whole number of 1/10,000ths.

    SQLite has no exact decimal type (NUMERIC turns "256.25" into a float), so
    amounts are scaled integers on every backend: exact, sortable and summable.
    """

    PLACES = 4

    def db_value(self, value: Decimal | int | str | None) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value).scaleb(self.PLACES)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.PLACES} decimal places")
        return int(scaled)

    def python_value(self, value: int | None) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.PLACES)


class UTCDateTimeField(peewee.DateTimeField):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    def db_value(self, value: _dt.datetime | None) -> _dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC).replace(tzinfo=None)

    def python_value(self, value: Any) -> Any:
        value = super().python_value(value)
        if isinstance(value, _dt.datetime):
            return value.replace(tzinfo=UTC)
        return value


class JSONField(peewee.TextField):
    """JSON as text; Decimals are written as strings so that no float slips in."""

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, default=_default, separators=(",", ":"), sort_keys=True)

    def python_value(self, value: str | None) -> Any:
        if value is None:
            return None
        return json.loads(value)


def _default(obj: object) -> str:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, _dt.datetime):
        return obj.isoformat()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
