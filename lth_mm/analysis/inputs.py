"""Reading the tickets of a report: files, labels, and one key scheme for all of them.

Everything here only reads; any problem raises :class:`ReportInputError` naming the file or keys
and what to do, before a report writes anything.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..core import Ticket, TicketMismatchError
from ..core.keymap import KeyMapError, convert_ticket, detect_scheme

__all__ = ['ReportInputError', 'align_tickets', 'checked_labels', 'default_labels',
           'read_ticket']

PathLike = str | os.PathLike
_SUFFIXES = {'.safetensors', '.tar', '.pth', '.pt', '.ckpt'}


class ReportInputError(ValueError):
    """Input a ticket report cannot use (nothing has been written)."""


def read_ticket(path: PathLike, allow_pickle: bool = False) -> Ticket:
    """An lth_mm ticket file, the ticket an lth_mm checkpoint records, or the original code's
    ``torch.nn.utils.prune`` mask file (:meth:`lth_mm.core.Ticket.read`: plain data only unless
    ``allow_pickle``).

    Raises:
        ReportInputError: the file is missing, not a ticket, or a pickle that needs full
            unpickling without ``allow_pickle``.
    """
    from ..compat import read_ticket as read_any  # MMEngine checkpoints: the ticket they record

    try:
        ticket = read_any(path, allow_pickle)
    except (OSError, ValueError) as err:
        raise ReportInputError(f'{err}. A report reads lth_mm ticket files (.safetensors), the '
                               "tickets lth_mm's checkpoints record and the original code's "
                               '*.weight_mask files (torch.save)') from err
    if not len(ticket):
        raise ReportInputError(f'{path} holds no masks: there is nothing to report on')
    return ticket


def _stem(path: Path) -> Path:
    while path.suffix in _SUFFIXES:
        path = path.with_suffix('')
    return path


def default_labels(paths: Sequence[PathLike]) -> list[str]:
    """Short unique labels: file names without suffix, with as many parent folders as needed
    to tell them apart (``imp/tickets/round_05`` vs ``random/tickets/round_05``)."""
    parts = [_stem(Path(p)).parts for p in paths]
    for depth in range(1, max((len(p) for p in parts), default=1) + 1):
        labels = ['/'.join(p[-depth:]) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    return [f'{p[-1]}#{i}' for i, p in enumerate(parts, 1)]  # one file given twice


def checked_labels(paths: Sequence[PathLike], labels: Sequence[str] | None,
                   what: str = 'tickets') -> list[str]:
    """``labels`` (one per path, distinct, non-empty), or :func:`default_labels` of ``paths``.

    Raises:
        ReportInputError: labels of another count, repeated or empty.
    """
    if labels is None:
        return default_labels(paths)
    labels = [str(label) for label in labels]
    if len(labels) != len(paths):
        raise ReportInputError(f'--labels: {len(labels)} labels for {len(paths)} {what}')
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated or not all(label.strip() for label in labels):
        raise ReportInputError(f'--labels must be distinct and non-empty; repeated: {repeated}')
    return labels


def _convert(ticket: Ticket, scheme: str, source: str, first: str) -> Ticket:
    try:
        return convert_ticket(ticket, dst=scheme)[0]
    except KeyMapError as err:
        raise ReportInputError(f'{source}: cannot map its keys onto the {scheme} scheme of '
                               f'{first}: {err}') from err


def align_tickets(tickets: Sequence[Ticket], sources: Sequence[str]) -> list[Ticket]:
    """Bring every ticket onto the first one's keys (lth_mm.core.keymap), or refuse.

    When the keys differ, every ticket is converted to the first ticket's key scheme
    (``backbone.*``, bare torchvision names, ...; a ``module.`` prefix is dropped); what still
    differs (another architecture, a stem or classifier pruned in one only) is refused.

    Args:
        tickets: The tickets, in report order.
        sources: Their file names, for messages.

    Raises:
        ReportInputError: naming the files and the keys (or shapes) that do not match.
    """
    try:
        scheme = detect_scheme(tickets[0])
    except KeyMapError:
        scheme = None
    if scheme is not None and any(set(t) != set(tickets[0]) for t in tickets[1:]):
        tickets = [_convert(t, scheme, source, sources[0]) for t, source in zip(tickets, sources)]
    ref = tickets[0]
    for ticket, source in zip(tickets[1:], sources[1:]):
        try:
            ref._aligned(ticket)
        except TicketMismatchError as err:
            raise ReportInputError(
                f'{source} does not cover the same weights as {sources[0]} ({err}). A report '
                'compares tickets of one architecture and scope; tickets of other key schemes '
                f'are mapped onto the first one\'s ({scheme or "unknown scheme"}) automatically'
            ) from err
    return list(tickets)
