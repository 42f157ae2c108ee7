"""Failed sign-ins per key (a user name, an IP address) in a sliding window, with bounded memory."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque


class Throttle:
    """Failed sign-ins per key (user name, IP address) in a sliding window; memory stays bounded."""

    def __init__(self, max_failures: int, window_s: float, max_keys: int = 100_000):
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._failures.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if not hits:
            del self._failures[key]
        return hits

    def retry_after(self, keys: list[str], now: float | None = None) -> int | None:
        """Seconds to wait when any key has used up its failures, else None."""
        now = time.monotonic() if now is None else now
        with self._lock:
            waits = []
            for key in keys:
                hits = self._recent(key, now)
                if len(hits) >= self.max_failures:
                    waits.append(hits[-self.max_failures] + self.window_s - now)
        return max(1, int(max(waits)) + 1) if waits else None

    def fail(self, keys: list[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in keys:
                hits = self._failures.setdefault(key, deque(maxlen=self.max_failures * 2))
                hits.append(now)
                self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
