"""Early-bird rounds: stop a round once the mask it would produce has settled.

You et al., "Drawing Early-Bird Tickets" (ICLR 2020), found that the mask magnitude pruning would
produce settles long before a round's training ends. :class:`EarlyBird` follows that: at each
check it takes the candidate mask (what pruning now would give), measures its distance to the
previous candidate (:meth:`lth_mm.core.Ticket.distance`, the fraction of weights that differ), and
reports the round as settled once ``window`` distances in a row are below ``threshold``.
"""
from __future__ import annotations

from typing import Any

from .ticket import Ticket

__all__ = ['EarlyBird']


class EarlyBird:
    """Tracks the candidate masks of one round.

    Args:
        threshold: Distance under which two consecutive candidates count as the same mask, in
            (0, 1). Defaults to 0.1, the paper's.
        window: How many distances in a row must be under ``threshold``. Defaults to 3.
    """

    def __init__(self, threshold: float = 0.1, window: int = 3) -> None:
        if not isinstance(threshold, (int, float)) or not 0.0 < threshold < 1.0:
            raise ValueError(f'early-bird threshold must be in (0, 1), got {threshold!r}')
        if not isinstance(window, int) or isinstance(window, bool) or window < 1:
            raise ValueError(f'early-bird window must be an integer >= 1, got {window!r}')
        self.threshold = float(threshold)
        self.window = window
        self.candidate: Ticket | None = None
        self.distances: list[float] = []

    def reset(self) -> None:
        """Forget the round's candidates (a new round starts)."""
        self.candidate, self.distances = None, []

    def observe(self, candidate: Ticket) -> float | None:
        """Take the next candidate; return its distance to the previous one (None if first)."""
        distance = None if self.candidate is None else candidate.distance(self.candidate)
        if distance is not None:
            self.distances.append(distance)
        self.candidate = candidate
        return distance

    @property
    def settled(self) -> bool:
        """``window`` distances in a row under ``threshold``."""
        recent = self.distances[-self.window:]
        return len(recent) == self.window and all(d < self.threshold for d in recent)

    def state_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint (the candidate bit-packed)."""
        return {'distances': list(self.distances),
                'candidate': self.candidate.pack() if self.candidate is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.distances = [float(d) for d in state['distances']]
        packed = state['candidate']
        self.candidate = Ticket.unpack(packed) if packed is not None else None
