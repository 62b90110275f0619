"""The clock the store and the jobs read.

Production keeps real time. Tests and the demo install a :class:`FrozenClock`
(or any object with ``now()``) through :func:`set_clock`.
"""
import datetime as _dt
import threading
from typing import Any, Protocol

UTC = _dt.UTC


class Clock(Protocol):
    """Anything with ``now()``: an aware datetime in UTC."""

    def now(self) -> _dt.datetime: ...


class SystemClock:
    def now(self) -> _dt.datetime:
        return _dt.datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self, start: _dt.datetime | None = None) -> None:
        self._now = start or _dt.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> _dt.datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: Any) -> _dt.datetime:
        with self._lock:
            self._now += _dt.timedelta(**delta)
            return self._now


class ScaledClock:
    """Real time, ``speed`` times faster from the moment it starts: for demos of reminders and expiry."""

    def __init__(self, speed: float) -> None:
        self.speed = float(speed)
        self._real_start = _dt.datetime.now(UTC)

    def now(self) -> _dt.datetime:
        elapsed = _dt.datetime.now(UTC) - self._real_start
        return self._real_start + elapsed * self.speed


_clock: Clock = SystemClock()


def set_clock(clock: Clock | None) -> None:
    global _clock
    _clock = clock or SystemClock()


def now() -> _dt.datetime:
    """The current time, aware, in UTC."""
    return _clock.now()
