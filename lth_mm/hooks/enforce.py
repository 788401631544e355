"""Shared mask enforcement for lth_mm's hooks."""
from __future__ import annotations

from typing import Any, List, Optional

import torch
from mmengine.hooks import Hook

from ..core import MaskApplier, Ticket
from ..engine.runner_utils import unwrap_model


class TicketEnforcingHook(Hook):
    """Base of the hooks that hold a ticket and keep its pruned weights exactly zero.

    The mask is applied after every training iteration (that is, after the optimizer step, so
    momentum, weight decay, Adam/AdamW moments, AMP and gradient accumulation cannot revive a
    pruned weight), before validation and test, and after a checkpoint is loaded. Each application
    is one fused ``torch._foreach_mul_`` over the masked tensors; nothing runs per forward.

    Note:
        Priority ``ABOVE_NORMAL`` runs the mask before ``EMAHook`` (``NORMAL``) and the
        checkpoint and logger hooks, so averaged and saved weights are masked.

    Args:
        mask_grads: Also zero the gradients of pruned weights during backward. Only needed
            when something reads whole-tensor gradient statistics before the step (gradient
            clipping by norm, LARS); costs one extra pass per backward.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, mask_grads: bool = False) -> None:
        self.mask_grads = bool(mask_grads)
        self.ticket: Optional[Ticket] = None
        self._applier: Optional[MaskApplier] = None
        self._grad_handles: List[Any] = []

    def set_ticket(self, runner: Any, ticket: Ticket) -> None:
        """Bind ``ticket`` to the runner's model and zero its pruned weights now."""
        self.ticket = ticket
        self._applier = ticket.bind(unwrap_model(runner))
        self._applier()
        for handle in self._grad_handles:
            handle.remove()
        self._grad_handles = []
        if self.mask_grads:
            for param, mask in zip(self._applier.params, self._applier.masks):
                self._grad_handles.append(param.register_hook(lambda g, m=mask: g * m))

    def apply_mask(self) -> None:
        """Zero the pruned weights, if a ticket is set."""
        if self._applier is not None:
            self._applier()

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                         outputs: Any = None) -> None:
        self.apply_mask()

    def before_val_epoch(self, runner: Any) -> None:
        self.apply_mask()

    def before_test_epoch(self, runner: Any) -> None:
        self.apply_mask()


def masks_equal_across_ranks(ticket: Ticket) -> Ticket:
    """Make every rank hold rank 0's ticket (a no-op outside distributed runs)."""
    from mmengine.dist import broadcast_object_list, get_world_size
    if get_world_size() == 1:
        return ticket
    masks, card = ticket.state_tensors()
    payload = [({k: v.numpy() for k, v in masks.items()}, card)]
    broadcast_object_list(payload, src=0)
    received, card = payload[0]
    return Ticket.from_state({k: torch.from_numpy(v) for k, v in received.items()}, card)
