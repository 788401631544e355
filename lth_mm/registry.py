"""Registration of lth_mm's modules in the OpenMMLab registries.

Hooks and loops go to mmengine's root registries, so configs of every codebase (mmpretrain,
mmdet, mmseg scopes) find them; datasets and metrics go to MMPretrain's registries.
"""
from __future__ import annotations

import importlib
import warnings

from mmengine.registry import DefaultScope

_MODULES = ('lth_mm.hooks', 'lth_mm.engine', 'lth_mm.datasets', 'lth_mm.evaluation')


def register_all_modules(init_default_scope: bool = True, scope: str = 'mmpretrain') -> None:
    """Import every lth_mm module that registers something, as the OpenMMLab packages do.

    Args:
        init_default_scope: Also set the default registry scope (``scope``), as
            ``mmpretrain.utils.register_all_modules`` does, for building modules outside a Runner.
        scope: The scope to set, ``'mmpretrain'``, ``'mmdet'`` or ``'mmseg'``.
    """
    for name in _MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:  # a real missing dependency, not an absent optional module
                raise
    if not init_default_scope:
        return
    importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance(f'lth_mm-{scope}', scope_name=scope)
    elif current.scope_name != scope:
        warnings.warn(f'default scope is {current.scope_name!r}, not {scope!r}; leaving it as is',
                      stacklevel=2)
