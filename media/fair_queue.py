"""A queue shared by many senders that serves them in turn: round-robin across keys, first-in-first-out within one.

The shared ASR engine queues every session's requests here, so a session with many segments waiting (a long
answer, or a client sending faster than real time) takes one place per round instead of all the places ahead of
a session that has a single final waiting.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class FairQueue(Generic[K, T]):
    """Items per key; the keys form a ring. Service order: the first item of every key in ring order, then the
    second of every key, and so on. A key that was served moves to the back of the ring. A key with nothing left
    leaves it and comes back at the front when it queues again: a session that asks now and then (a final at each
    pause) goes ahead of one that always has work queued, which then waits at most one item per other key.
    Not thread-safe: the engine calls it under its lock.
    """

    def __init__(self, key_of: Callable[[T], K]) -> None:
        self._key_of = key_of
        self._ring: OrderedDict[K, deque[T]] = OrderedDict()
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def push(self, item: T) -> None:
        key = self._key_of(item)
        queue = self._ring.get(key)
        if queue is None:
            queue = self._ring[key] = deque()
            self._ring.move_to_end(key, last=False)
        queue.append(item)
        self._len += 1

    def __iter__(self) -> Iterator[T]:
        """Every item in service order, without taking any."""
        queues = list(self._ring.values())
        depth = max((len(q) for q in queues), default=0)
        for i in range(depth):
            for queue in queues:
                if i < len(queue):
                    yield queue[i]

    def of(self, key: K) -> list[T]:
        """The items `key` has queued, oldest first."""
        return list(self._ring.get(key, ()))

    def remove(self, item: T) -> None:
        key = self._key_of(item)
        queue = self._ring[key]
        queue.remove(item)
        self._len -= 1
        if not queue:
            del self._ring[key]

    def discard_where(self, drop: Callable[[T], bool]) -> list[T]:
        """Removes (and returns) every item `drop` is true of; the ring order of the keys left is kept."""
        dropped: list[T] = []
        for key in list(self._ring):
            keep: deque[T] = deque()
            for x in self._ring[key]:
                (dropped if drop(x) else keep).append(x)
            if keep:
                self._ring[key] = keep
            else:
                del self._ring[key]
        self._len -= len(dropped)
        return dropped

    def take(self, accept: Callable[[list[T], T], bool], limit: int) -> list[T]:
        """Up to `limit` items in service order that `accept(taken so far, item)` takes. The keys served go to
        the back of the ring.
        """
        taken: list[T] = []
        for item in list(self):
            if len(taken) >= limit:
                break
            if accept(taken, item):
                taken.append(item)
        # Keys in the order of their last item taken: a batch may end part-way into a new round, which the next
        # take continues with the keys that round has not reached yet.
        served: dict[K, None] = {}
        for item in taken:
            key = self._key_of(item)
            self.remove(item)
            served.pop(key, None)
            served[key] = None
        for key in served:
            if key in self._ring:
                self._ring.move_to_end(key)
        return taken
