"""lth_mm: lottery tickets for pre-trained vision models on the OpenMMLab stack.

``lth_mm.core`` is plain PyTorch. When the OpenMMLab stack is installed, importing ``lth_mm``
also applies :mod:`lth_mm.compat` and registers lth_mm's hooks, loops and datasets in the stack's
registries, so ``custom_imports = dict(imports=['lth_mm'])`` in a config is enough.
"""
from .version import __version__

try:
    import mmengine  # noqa: F401
except ImportError:  # plain-PyTorch use of lth_mm.core
    HAS_STACK = False
else:
    HAS_STACK = True

if HAS_STACK:
    from . import compat
    compat.apply()
    from .registry import register_all_modules
    register_all_modules(init_default_scope=False)
else:
    def register_all_modules(init_default_scope: bool = True) -> None:
        raise ImportError('lth_mm.register_all_modules needs the OpenMMLab stack: '
                          'run `make install`')

__all__ = ['__version__', 'register_all_modules', 'HAS_STACK']
