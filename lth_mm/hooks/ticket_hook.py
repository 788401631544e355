"""Training with a fixed ticket: the transfer experiment."""
from __future__ import annotations

from typing import Any, Optional, Sequence

from mmengine.registry import HOOKS

from ..core import Ticket, keymap
from ..core.rewind import reinitialize
from ..engine.runner_utils import unwrap_model
from .enforce import TicketEnforcingHook


@HOOKS.register_module()
class TicketHook(TicketEnforcingHook):
    """Loads a ticket file and keeps its pruned weights at zero (ticket transfer, no pruning).

    With the config's ``load_from`` (or a ``Pretrained`` ``init_cfg``) pointing at the dense
    pre-trained weights, this is the paper's transfer: the mask of task A on the original
    pre-trained weights, fine-tuned once with the downstream recipe.

    Note:
        The ticket is bound in ``before_train`` (after weights are loaded) and again before
        validation and test, so ``tools/test.py`` with this hook evaluates the sparse model.

    Args:
        ticket: Path to a ticket file (``Ticket.save``) or to a mask file of the original code
            (``*.weight_mask`` tensors, read with ``Ticket.from_torch_prune``).
        key_map: How ticket keys map onto the model: ``'auto'`` (the naming scheme is detected
            from the keys and converted to the model's), a scheme name of
            :mod:`lth_mm.core.keymap`, or None (keys used as they are).
        prefix: Prepended to the ticket keys after ``key_map`` (``'backbone.'``).
        reverse: Use the complementary mask (an ablation of the paper).
        reinit: Re-initialise the model randomly (seeded by ``seed``) before applying the
            mask: the "same mask, random initialisation" baseline.
        reinit_prefixes: Only re-initialise the modules under these prefixes.
        seed: Seed of the re-initialisation.
        strict: Fail when the model has prunable weights the ticket does not cover.
        mask_grads: See :class:`TicketEnforcingHook`.
    """

    def __init__(self, ticket: str, key_map: Optional[str] = 'auto', prefix: str = '',
                 reverse: bool = False, reinit: bool = False, reinit_prefixes: Sequence[str] = (),
                 seed: int = 0, strict: bool = False, mask_grads: bool = False) -> None:
        super().__init__(mask_grads=mask_grads)
        if not isinstance(ticket, str) or not ticket or ticket == '???':
            raise ValueError(f'TicketHook: ticket must be a file path, got {ticket!r} '
                             "(set it with --cfg-options custom_hooks.0.ticket=PATH)")
        self.ticket_path = ticket
        self.key_map = key_map
        self.prefix = prefix
        self.reverse = bool(reverse)
        self.reinit = bool(reinit)
        self.reinit_prefixes = tuple(reinit_prefixes)
        self.seed = int(seed)
        self.strict = bool(strict)

    def load_ticket(self, model: Any) -> Ticket:
        """Read the ticket file and map its keys onto ``model``."""
        try:
            ticket = Ticket.load(self.ticket_path)
        except ValueError as err:
            if 'Ticket.from_torch_prune' not in str(err):
                raise
            ticket = Ticket.from_torch_prune(self.ticket_path)
        if self.key_map is not None and not set(ticket) <= set(dict(model.named_parameters())):
            dst = keymap.detect_scheme(model.state_dict())
            ticket, _ = keymap.convert_ticket(ticket, dst=dst, src=self.key_map)
        if self.prefix:
            ticket = ticket.add_prefix(self.prefix)
        ticket.check(model, strict=self.strict)
        return ticket.reverse() if self.reverse else ticket

    def before_run(self, runner: Any) -> None:
        """Fail early on a ticket that does not fit the model."""
        self._loaded = self.load_ticket(unwrap_model(runner))
        runner.logger.info(f'TicketHook: {self.ticket_path}: {self._loaded!r}')

    def before_train(self, runner: Any) -> None:
        model = unwrap_model(runner)
        if self.reinit or self.reinit_prefixes:
            reinitialize(model, self.seed, self.reinit_prefixes or None)
        self.set_ticket(runner, self._loaded)

    def before_val(self, runner: Any) -> None:
        if self.ticket is None:
            self.set_ticket(runner, self._loaded)

    def before_test(self, runner: Any) -> None:
        if self.ticket is None:
            self.set_ticket(runner, self._loaded)
