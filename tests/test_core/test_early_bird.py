"""Early-bird rounds in the core: the mask distance and when a round counts as settled."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lth_mm.core import Ticket
from lth_mm.core.early_bird import EarlyBird


def _ticket(*rows) -> Ticket:
    return Ticket({'a': torch.tensor(rows[0], dtype=torch.bool),
                   'b': torch.tensor(rows[1], dtype=torch.bool)})


def test_distance_is_the_fraction_of_weights_that_differ():
    first = _ticket([1, 1, 0, 0], [1, 0, 1, 0, 1, 0])
    second = _ticket([1, 0, 0, 1], [1, 0, 1, 0, 0, 0])
    assert first.distance(second) == pytest.approx(3 / 10)  # a: 2 differ, b: 1 differs
    assert first.distance(first) == 0.0 and first.distance(first.reverse()) == 1.0
    with pytest.raises(ValueError, match='different keys'):
        first.distance(Ticket({'a': torch.ones(4, dtype=torch.bool)}))


@given(st.lists(st.booleans(), min_size=1, max_size=40), st.lists(st.booleans(), min_size=1,
                                                                    max_size=40))
@settings(max_examples=50, deadline=None)
def test_distance_is_symmetric_and_hamming(a, b):
    n = min(len(a), len(b))
    x, y = Ticket({'w': torch.tensor(a[:n])}), Ticket({'w': torch.tensor(b[:n])})
    assert x.distance(y) == y.distance(x) == sum(p != q for p, q in zip(a, b)) / n


def test_a_round_settles_at_the_first_window_below_the_threshold():
    bird = EarlyBird(threshold=0.25, window=2)
    masks = [[1, 1, 1, 1], [0, 0, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1], [1, 1, 1, 0]]
    settled = []
    for row in masks:
        bird.observe(_ticket(row, [1, 1, 1, 1, 1, 1]))
        settled.append(bird.settled)
    # distances: 2/10, 1/10, 0, 2/10 -> two in a row under 0.25 first at the third check
    assert bird.distances == pytest.approx([0.2, 0.1, 0.0, 0.2])
    assert settled == [False, False, True, True, True]
    strict, settled = EarlyBird(threshold=0.15, window=2), []
    for row in masks:
        strict.observe(_ticket(row, [1, 1, 1, 1, 1, 1]))
        settled.append(strict.settled)
    assert settled == [False, False, False, True, False]  # 0.1 and 0.0; then 0.2 breaks it
    assert not EarlyBird().settled


def test_state_round_trip_and_arguments():
    bird = EarlyBird(threshold=0.5, window=1)
    bird.observe(_ticket([1, 0, 1, 0], [0] * 6))
    bird.observe(_ticket([1, 1, 1, 0], [0] * 6))
    again = EarlyBird(threshold=0.5, window=1)
    again.load_state_dict(bird.state_dict())
    assert again.distances == bird.distances and again.candidate == bird.candidate
    again.reset()
    assert again.candidate is None and not again.distances
    for bad in (dict(threshold=0), dict(threshold=1.5), dict(window=0), dict(window=1.5)):
        with pytest.raises(ValueError, match='early-bird'):
            EarlyBird(**bad)
