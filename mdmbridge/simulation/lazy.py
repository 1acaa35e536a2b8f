"""Helpers that let a simulator serve a million-record fleet without building it.

A seeded fleet is a function of (seed, index), except where the original generator drew
from one sequential random stream (ezmdm's ids, owners and location counts): the n-th value
of such a stream depends on every draw before it. :class:`Replay` gives random access to
it anyway, by keeping the generator's state every ``block`` draws (2.5 KB each, taken the
first time the stream gets that far) and replaying one block on demand, so the values are
exactly those the sequential generator gave, without keeping them.

:class:`BytesCache` keeps encoded answers (JSON text of a page or of a chunk of records)
within a byte budget: the simulators share the benchmark machine's cores with the client,
so serving the same page twice should not cost generating and encoding it twice.
"""

from __future__ import annotations

import array
import collections
import random
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

_STATE_VERSION = 3  # what random.Random.getstate() returns first


class Replay(Generic[T]):
    """Random access to a sequential seeded stream: ``replay[n]`` is the value
    ``draw(rng, n)`` returned the n-th time, for ``rng = random.Random(seed_text)``.

    ``weight(value)`` (optional) is summed by :meth:`offset`: how many slots the values
    before n took, which is how ezmdm finds where a device's id sits in its id stream.
    """

    def __init__(
        self,
        seed_text: str,
        draw: Callable[[random.Random, int], T],
        *,
        weight: Callable[[T], int] | None = None,
        block: int = 1024,
        cached_blocks: int = 8,
    ) -> None:
        self._rng = random.Random(seed_text)
        self._draw = draw
        self._weight = weight
        self._block = block
        # Checkpoint k: the generator's state before draw k * block, and the weight so far.
        self._states: list[array.array[int]] = [self._pack(self._rng)]
        self._offsets: list[int] = [0]
        self._blocks: collections.OrderedDict[int, tuple[list[T], list[int]]] = (
            collections.OrderedDict()
        )
        self._cached_blocks = cached_blocks

    @staticmethod
    def _pack(rng: random.Random) -> array.array[int]:
        return array.array("I", rng.getstate()[1])

    def __getitem__(self, n: int) -> T:
        values, _ = self._decoded(n // self._block)
        return values[n % self._block]

    def offset(self, n: int) -> int:
        """The summed weight of the values before the n-th."""
        _, offsets = self._decoded(n // self._block)
        return offsets[n % self._block]

    def checkpoints(self) -> int:
        """How many generator states are kept (a test's window on the memory used)."""
        return len(self._states)

    def _decoded(self, number: int) -> tuple[list[T], list[int]]:
        found = self._blocks.get(number)
        if found is not None:
            self._blocks.move_to_end(number)
            return found
        while len(self._states) <= number:  # walk forward once, leaving checkpoints
            self._run(len(self._states) - 1)
        found = self._run(number)
        self._blocks[number] = found
        if len(self._blocks) > self._cached_blocks:
            self._blocks.popitem(last=False)
        return found

    def _run(self, number: int) -> tuple[list[T], list[int]]:
        """Replay block ``number`` from its checkpoint; record the next checkpoint."""
        rng = self._rng
        rng.setstate((_STATE_VERSION, tuple(self._states[number]), None))
        start = number * self._block
        total = self._offsets[number]
        values: list[T] = []
        offsets: list[int] = []
        weight = self._weight
        for n in range(start, start + self._block):
            value = self._draw(rng, n)
            values.append(value)
            offsets.append(total)
            if weight is not None:
                total += weight(value)
        if len(self._states) == number + 1:
            self._states.append(self._pack(rng))
            self._offsets.append(total)
        return values, offsets


class BytesCache:
    """Least-recently-used encoded answers, within ``budget`` bytes in all."""

    def __init__(self, budget: int = 64 * 1024 * 1024) -> None:
        self.budget = budget
        self._items: collections.OrderedDict[Hashable, bytes] = collections.OrderedDict()
        self._size = 0

    def get(self, key: Hashable) -> bytes | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: Hashable, value: bytes) -> None:
        if len(value) > self.budget:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._size -= len(old)
        self._items[key] = value
        self._size += len(value)
        while self._size > self.budget:
            _, dropped = self._items.popitem(last=False)
            self._size -= len(dropped)

    def clear(self) -> None:
        self._items.clear()
        self._size = 0

    def __len__(self) -> int:
        return len(self._items)
