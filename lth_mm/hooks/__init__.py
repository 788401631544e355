"""MMEngine hooks of lth_mm: thin adapters over :mod:`lth_mm.core`."""
from .enforce import TicketEnforcingHook
from .imp_hook import IMPHook
from .ticket_hook import TicketHook

__all__ = ['IMPHook', 'TicketEnforcingHook', 'TicketHook']
