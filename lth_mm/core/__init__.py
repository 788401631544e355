"""lth_mm's core in plain PyTorch: tickets, pruning, ticket files and checkpoint key maps.

Nothing here imports the OpenMMLab stack.
"""
from .pruning import CRITERIA, MODES, count_to_prune, prune_masks
from .scope import PruneScope, find_stem_weights
from .ticket import MaskApplier, Ticket, TicketMismatchError, TicketOverlap, weights_hash
from .ticket_file import TicketFileError
from .torch_file import UnsafeFileError, load_torch_file, pickle_opt_in

__all__ = [
    'CRITERIA', 'MODES', 'MaskApplier', 'PruneScope', 'Ticket', 'TicketFileError',
    'TicketMismatchError', 'TicketOverlap', 'UnsafeFileError', 'count_to_prune',
    'find_stem_weights', 'load_torch_file', 'pickle_opt_in', 'prune_masks', 'weights_hash'
]
