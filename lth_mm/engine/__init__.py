"""MMEngine-side pieces of lth_mm: runner helpers, round reports, weight initializers."""
from .mapped_pretrained import MappedPretrainedInit

__all__ = ['MappedPretrainedInit']
