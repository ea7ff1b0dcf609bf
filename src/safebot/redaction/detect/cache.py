"""A cache of recent detections, so repeated messages ('yes', 'thanks') skip detection."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["DetectionCache"]

V = TypeVar("V")


class DetectionCache(Generic[V]):
    """Recent results by a keyed hash of the text.

    Holds offsets, types, scores and recognizer names, never text; the key is BLAKE2b with a
    random per-process key, so the cache's keys do not reveal the messages either.
    """

    def __init__(self, size: int) -> None:
        self.size = size  # 0: no cache
        self._key = secrets.token_bytes(32)
        self._data: OrderedDict[bytes, V] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), key=self._key, digest_size=16).digest()

    def get(self, key: bytes) -> V | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
            return hit

    def put(self, key: bytes, value: V) -> None:
        if not self.size:
            return
        with self._lock:
            self._data[key] = value
            if len(self._data) > self.size:
                self._data.popitem(last=False)
