"""The address guard: webhooks reach only receivers on the internet.

Receivers on loopback, private, link-local or reserved addresses are refused,
when the URL is given (:func:`check_url`) and again when connecting
(:func:`session`): the address connected to is the address checked, so a DNS
answer that changes between the two cannot point a delivery inside the network.
``webhook_allow_private`` lifts the guard; development allows loopback.
"""
import functools
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from linx_core.errors import InvalidRequest, Problem, RuleViolation

MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class AddressPolicy:
    """Which receiver addresses may be connected to."""

    allow_private: bool = False
    allow_loopback: bool = False

    @classmethod
    def of(cls, rt):
        settings = rt.settings
        return cls(allow_private=bool(settings.webhook_allow_private),
                   allow_loopback=bool(settings.webhook_allow_private or settings.development))

    def refusal(self, ip):
        """Why ``ip`` may not be connected to, or ``None`` if it may."""
        if self.allow_private:
            return None
        if ip.version == 6:
            embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
            if embedded is not None:
                ip = embedded
        if ip.is_loopback:
            return None if self.allow_loopback else "loopback"
        if ip.is_link_local:
            return "link-local"
        if ip.is_multicast:
            return "multicast"
        if ip.is_unspecified or ip.is_reserved:
            return "reserved"
        if ip.is_private:
            return "private"
        if not ip.is_global:
            return "not public"
        return None


def _ip(text):
    return ipaddress.ip_address(text.split("%", 1)[0])


_recent_checks = {}
_recent_lock = threading.Lock()
RECENT_CHECK_SECONDS = 60


def check_url(rt, url):
    """:func:`_check_url`, remembered for a minute when it passes, so the API can check a URL before its
    transaction starts (no DNS lookup while SQLite's write lock is held). Deliveries check again at connect."""
    key = (url, rt.settings.env, rt.settings.webhook_allow_private)
    with _recent_lock:
        hit = _recent_checks.get(key)
    if hit and time.monotonic() - hit[0] < RECENT_CHECK_SECONDS:
        return hit[1]
    result = _check_url(rt, url)
    with _recent_lock:
        if len(_recent_checks) > 1000:
            _recent_checks.clear()
        _recent_checks[key] = (time.monotonic(), result)
    return result


def _check_url(rt, url):
    """``url`` if LinX may deliver to it, else :class:`RuleViolation` at ``url`` (422).

    http or https, no credentials, at most 2000 characters, and a host whose
    every address is allowed by :class:`AddressPolicy` (it is checked again when connecting).
    """
    if not isinstance(url, str):
        raise InvalidRequest("The request is malformed.", [Problem("url", "Not a valid string.", "INVALID_TYPE")])

    def refuse(message, code):
        raise RuleViolation("The receiver URL is not allowed.", [Problem("url", message, code)])

    if len(url) > MAX_URL_LENGTH:
        refuse(f"Must be at most {MAX_URL_LENGTH} characters.", "URL_TOO_LONG")
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        refuse("Must be an absolute http or https URL without spaces.", "URL_INVALID")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        refuse("Not a valid URL.", "URL_INVALID")
    if parts.scheme.lower() not in ("http", "https"):
        refuse("Must be an http or https URL.", "URL_SCHEME")
    if parts.username is not None or parts.password is not None:
        refuse("Must not contain credentials; authenticate the request by its signature.", "URL_CREDENTIALS")
    host = parts.hostname
    if not host:
        refuse("Must name a host.", "URL_INVALID")
    policy = AddressPolicy.of(rt)
    if policy.allow_private:
        return url
    try:
        addresses = {_ip(info[4][0]) for info in socket.getaddrinfo(
            host, port or (443 if parts.scheme.lower() == "https" else 80), type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError, ValueError):
        refuse(f"The host {host[:100]} does not resolve.", "URL_UNRESOLVABLE")
    for ip in sorted(addresses, key=str):
        reason = policy.refusal(ip)
        if reason:
            refuse(f"The host resolves to a {reason} address; receivers must be reachable on the internet.",
                   "URL_PRIVATE_ADDRESS")
    return url



class BlockedAddress(NewConnectionError):
    """Every address the host resolves to is refused by the :class:`AddressPolicy`."""

    def __init__(self, conn, refusal):
        self.refusal = refusal
        super().__init__(conn, refusal)


class _Guarded:
    """Resolve, check, then connect to the checked address (no second lookup to rebind)."""

    policy = AddressPolicy()

    def _new_conn(self):
        try:
            infos = socket.getaddrinfo(self._dns_host, self.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        refused, error = [], None
        for _family, _, _, _, sockaddr in infos:
            ip = _ip(sockaddr[0])
            reason = self.policy.refusal(ip)
            if reason:
                refused.append(f"{ip} ({reason})")
                continue
            try:
                return urllib3_connection.create_connection(
                    (sockaddr[0], self.port), self.timeout, source_address=self.source_address,
                    socket_options=self.socket_options)
            except TimeoutError as exc:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})") from exc
            except OSError as exc:
                error = exc
        if error is not None:
            raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error
        raise BlockedAddress(self, f"refused to connect: {self.host} resolves only to addresses that are not "
                                   f"allowed: {', '.join(refused)}")


@functools.lru_cache(maxsize=8)
def _pool_classes(policy):
    http = type("GuardedHTTPConnection", (_Guarded, HTTPConnection), {"policy": policy})
    https = type("GuardedHTTPSConnection", (_Guarded, HTTPSConnection), {"policy": policy})
    return {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy):
        self.policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.policy)


def session(policy):
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment (it would be the address checked), no .netrc
    adapter = _GuardedAdapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

