"""The ASR engine's fair queue: senders served in turn, each one's items in order, nobody starved by a flood."""

from __future__ import annotations

from media.fair_queue import FairQueue


def queue_of(*items: str) -> FairQueue[str, str]:
    """Items named <sender><n>, e.g. "a1": the sender is the first letter."""
    q: FairQueue[str, str] = FairQueue(lambda item: item[0])
    for item in items:
        q.push(item)
    return q


def take_all(q: FairQueue[str, str], limit: int = 1) -> list[str]:
    out: list[str] = []
    while len(q):
        out += q.take(lambda _taken, _item: True, limit)
    return out


def test_senders_are_served_in_turn_each_in_its_own_order() -> None:
    q = queue_of("a1", "a2", "a3", "a4", "b1", "c1", "c2")
    # Each sender entered the ring at the front: the latest first, then in turn.
    assert list(q) == ["c1", "b1", "a1", "c2", "a2", "a3", "a4"]
    assert take_all(q) == ["c1", "b1", "a1", "c2", "a2", "a3", "a4"]


def test_a_flooding_sender_does_not_starve_one_that_queues_later() -> None:
    q = queue_of(*(f"a{i}" for i in range(100)))
    assert q.take(lambda _t, _i: True, 1) == ["a0"]  # a is being served when b arrives
    q.push("b0")
    assert q.take(lambda _t, _i: True, 1) == ["b0"]  # b is next in the ring, ahead of a's 99 others
    q.push("b1")  # b left the ring when it had nothing queued; it comes back at the front
    assert take_all(q)[:3] == ["b1", "a1", "a2"]


def test_a_batch_takes_one_item_per_sender_per_round_and_sends_them_to_the_back() -> None:
    q = queue_of("c1", "b1", "b2", "a1", "a2", "a3")  # the ring: a, b, c
    assert q.take(lambda _t, _i: True, 4) == ["a1", "b1", "c1", "a2"]
    q.push("d1")
    # The newcomer d first; c has nothing left and left the ring; a was served last in that batch, so b, then a.
    assert take_all(q) == ["d1", "b2", "a3"]


def test_items_the_taker_refuses_keep_their_place() -> None:
    q = queue_of("b1", "a1", "b2", "a2")  # the ring: a, b
    taken = q.take(lambda batch, item: item.endswith("2") or bool(batch), 8)
    assert taken == ["a2", "b2"]
    assert list(q) == ["a1", "b1"] and len(q) == 2


def test_discarded_items_leave_and_an_emptied_sender_leaves_the_ring() -> None:
    q = queue_of("a1", "b1", "b2", "c1")
    assert sorted(q.discard_where(lambda item: item in ("b1", "b2", "c1"))) == ["b1", "b2", "c1"]
    assert len(q) == 1 and q.of("b") == [] and list(q) == ["a1"]
    q.remove("a1")
    assert len(q) == 0 and list(q) == []
