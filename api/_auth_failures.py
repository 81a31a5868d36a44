"""`AuthFailureLimiter`: failed authentications counted per client address, so a key cannot
be guessed at the API's speed. Pure bookkeeping with an injectable clock; the dependency in
_deps.py asks it before looking a key up and tells it of each failure."""

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class AuthFailureLimiter:
    """At most `max_failures` failed authentications per address in any 60 s; past that the
    address is refused (429) until its oldest failure in the window is a minute old."""

    def __init__(self, max_failures: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_failures
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> float | None:
        """Seconds until `address` may try again, or None when it may try now."""
        now = self._clock()
        with self._lock:
            recent = self._recent(address, now)
            if recent is None or len(recent) < self._max:
                return None
            return max(0.0, recent[0] + WINDOW_SECONDS - now)

    def record_failure(self, address: str) -> int:
        """Note a failed authentication; returns the failures of `address` in the window."""
        now = self._clock()
        with self._lock:
            recent = self._recent(address, now) or deque()
            recent.append(now)
            self._failures[address] = recent
            if len(self._failures) > 10_000:
                self._forget_quiet(now)
            return len(recent)

    def _recent(self, address: str, now: float) -> deque[float] | None:
        recent = self._failures.get(address)
        if recent is None:
            return None
        while recent and recent[0] <= now - WINDOW_SECONDS:
            recent.popleft()
        return recent

    def _forget_quiet(self, now: float) -> None:
        # Bounded memory under a spray of addresses: drop those with no failure in the window.
        for address in [
            a for a, r in self._failures.items() if not r or r[-1] <= now - WINDOW_SECONDS
        ]:
            del self._failures[address]
