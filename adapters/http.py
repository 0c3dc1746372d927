"""HTTP resilience in one place: a session factory with retries, a client-side rate limiter, a host client.

The session retries 429 and 5xx with exponential backoff, honouring ``Retry-After`` when the host sends one
(Formbricks' own 429 does not). A token bucket keeps the client under the host's per-key rate limit; it is
taken once per attempt, retries included, because the host counts every request. Clocks and sleeps are
injectable so that tests never wait.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from adapters.base import AdapterError, ConfigurationError
from adapters.host_errors import error_from_exception, error_from_response, parse_json
from adapters.json_stream import data_items
from adapters.urls import BadUrl, check_url

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
STREAM_CHUNK = 256 * 1024  # bytes read at a time from a streamed answer
# Called with (host name, method, path, status or "error", seconds or None) for every answer the host gives,
# retried ones included; the app registers its metrics here (adapters know nothing of the app).
Observer = Callable[[str, str, str, "int | str", "float | None"], None]
OBSERVERS: list[Observer] = []


def add_observer(observer: Observer) -> None:
    """Have ``observer`` told of every host answer (once, however often it is added)."""
    if observer not in OBSERVERS:
        OBSERVERS.append(observer)


def _observe(host: str, method: str, path: str, status: int | str, seconds: float | None) -> None:
    for observer in OBSERVERS:
        observer(host, method, path, status, seconds)


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per ``per`` seconds, at most ``burst`` at once.

    The defaults (80 a minute plus a burst of 10) keep any minute at 90 requests, under the host's 100.
    """

    def __init__(
        self,
        rate: float = 80,
        per: float = 60.0,
        *,
        burst: int = 10,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate <= 0 or per <= 0 or burst < 1:
            raise ValueError("rate, per and burst must be positive")
        self.fill_rate = rate / per
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.fill_rate)
        self._stamp = now

    def acquire(self) -> float:
        """Take one token, sleeping until one is free; returns the seconds slept."""
        waited = 0.0
        with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1 - 1e-9:  # tolerance: float refills can land a hair below 1
                    self._tokens = max(0.0, self._tokens - 1)
                    return waited
                delay = (1 - self._tokens) / self.fill_rate
                log.debug("rate limiter: waiting %.2f s", delay)
                self._sleep(delay)
                waited += delay


class HostRetry(Retry):
    """urllib3 Retry that retries 429 for every method, caps waits, and sleeps through an injectable hook."""

    limiter: TokenBucket | None = None
    sleeper: Sleep = staticmethod(time.sleep)
    max_wait: float = 60.0

    def new(self, **kw: Any) -> HostRetry:
        """Copy with the hooks carried over (urllib3 builds a new object per attempt)."""
        retry: HostRetry = super().new(**kw)  # type: ignore[assignment]
        retry.limiter, retry.sleeper, retry.max_wait = self.limiter, self.sleeper, self.max_wait
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """A 429 was not processed, so retrying it is safe even for POST; other statuses as urllib3 says."""
        if status_code == 429 and self.total:
            return True
        return super().is_retry(method, status_code, has_retry_after)

    def sleep(self, response: Any = None) -> None:
        """Wait ``Retry-After`` when given, else the backoff, then take a rate-limiter token."""
        delay: float | None = None
        if response is not None and self.respect_retry_after_header:
            delay = self.get_retry_after(response)
        if delay is None:
            delay = self.get_backoff_time()
        delay = min(delay, self.max_wait)
        if delay > 0:
            log.info("host busy or failing; retrying in %.1f s", delay)
            self.sleeper(delay)
        if self.limiter is not None:
            self.limiter.acquire()


class RateLimitedAdapter(HTTPAdapter):
    """An HTTPAdapter that takes a token from the limiter before each request."""

    def __init__(self, limiter: TokenBucket | None = None, **kw: Any) -> None:
        self.limiter = limiter
        super().__init__(**kw)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        """Send after the limiter allows it."""
        if self.limiter is not None:
            self.limiter.acquire()
        return super().send(request, *args, **kwargs)


def make_session(
    *,
    retries: int = 4,
    backoff_factor: float = 2.0,
    max_wait: float = 60.0,
    limiter: TokenBucket | None = None,
    sleep: Sleep = time.sleep,
) -> requests.Session:
    """A requests Session retrying 429/5xx (Retry-After honoured) and, when given, rate limited."""
    retry = HostRetry(
        total=retries,
        connect=retries,
        read=1,
        status=retries,
        backoff_factor=backoff_factor,
        backoff_max=max_wait,
        status_forcelist=sorted(RETRY_STATUSES),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    retry.limiter, retry.sleeper, retry.max_wait = limiter, sleep, max_wait
    session = requests.Session()
    adapter = RateLimitedAdapter(limiter, max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class HostClient:
    """JSON over HTTP against one base URL, with the API key in a header and a timeout on every call.

    Paths are always joined to the configured base URL; an absolute URL is refused unless it points at the
    same scheme and host, so host-supplied paging links can never take the key elsewhere.
    """

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        host_name: str = "host",
    ) -> None:
        try:
            check_url(base_url)
        except BadUrl as exc:
            raise ConfigurationError(f"{host_name} URL {exc}") from exc
        self.base_url = base_url.rstrip("/") + "/"
        self._headers = dict(headers)
        self.session = session if session is not None else make_session(limiter=TokenBucket())
        self.timeout = timeout
        self.host_name = host_name

    def __repr__(self) -> str:
        return f"HostClient({self.base_url!r})"  # never the headers: they hold the key

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` under the base URL; refuses another host."""
        url = urljoin(self.base_url, path.lstrip("/"))
        base, target = urlsplit(self.base_url), urlsplit(url)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise AdapterError(f"refusing to follow a URL to another host: {target.netloc}")
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        ok: Iterable[int] = (200,),
        what: str = "",
        permission: str | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one request; a status outside ``ok`` or a transport failure raises AdapterError.

        With ``stream`` the body is read later, by the caller (see ``get_items``)."""
        url = self.url(path)
        route = urlsplit(url).path
        what = what or f"{method} {route}"
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, params=params, json=json, headers=self._headers, timeout=self.timeout,
                allow_redirects=False, stream=stream,
            )
        except requests.RequestException as exc:
            _observe(self.host_name, method, route, "error", time.monotonic() - started)
            raise error_from_exception(exc, what=what, host=self.host_name, timeout=self.timeout) from exc
        retries = getattr(getattr(response, "raw", None), "retries", None)
        for earlier in getattr(retries, "history", ()) or ():  # answers urllib3 retried (429, 5xx)
            if earlier.status is not None:
                _observe(self.host_name, method, route, earlier.status, None)
        _observe(self.host_name, method, route, response.status_code, time.monotonic() - started)
        if response.status_code not in tuple(ok):
            raise error_from_response(response, what=what, host=self.host_name, permission=permission)
        return response

    def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        what: str = "",
        permission: str | None = None,
    ) -> Any:
        """GET ``path`` and return its parsed JSON body."""
        response = self.request("GET", path, params=params, what=what, permission=permission)
        return parse_json(response, what=what or f"GET {path}", host=self.host_name)

    def get_items(
        self, path: str, *, params: Mapping[str, Any] | None = None, what: str = "", permission: str | None = None
    ) -> Iterator[Any]:
        """GET ``path`` now (its status checked) and return the items of its ``data`` list, read as the body
        arrives when they are iterated: a listing without paging takes the memory of one item at a time."""
        what = what or f"GET {path}"
        response = self.request("GET", path, params=params, what=what, permission=permission, stream=True)
        return self._items(response, what)

    def _items(self, response: requests.Response, what: str) -> Iterator[Any]:
        with response:  # the connection is released however the reading ends
            try:
                yield from data_items(response.iter_content(STREAM_CHUNK), what=what)
            except requests.RequestException as exc:
                raise error_from_exception(exc, what=what, host=self.host_name, timeout=self.timeout) from exc

    def send_json(
        self, method: str, path: str, body: Any, *, ok: Iterable[int] = (200, 201), what: str = ""
    ) -> Any:
        """Send ``body`` as JSON and return the parsed answer."""
        response = self.request(method, path, json=body, ok=ok, what=what)
        return parse_json(response, what=what or f"{method} {path}", host=self.host_name)
