"""What a run's work dir says about its config: mmengine's config dump, read as data.

mmengine writes the config of every run into its work dir twice: ``<config name>.py`` in the work
dir itself (rewritten by every later run there, ``tools/test.py`` included) and
``<timestamp>/vis_data/config.py`` (one per run, with the local visualizer backend). Both are
``name = value`` lines of literals and ``dict(...)`` calls: :func:`read_config_dump` evaluates
them with :mod:`ast` and refuses anything else, so nothing in a work dir runs.

On top of the plain data: :func:`flatten` (dotted keys), :func:`dataset_label` (the task a config
trains on) and :func:`weights_label` (the pre-trained weights it starts from).
"""
from __future__ import annotations

import ast
import math
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

__all__ = ['ConfigDumpError', 'dataset_label', 'find_config', 'flatten', 'read_config_dump',
           'start_weights', 'weights_label']

PathLike = Union[str, os.PathLike]
#: Names mmengine writes for float values that are no Python literal.
_FLOAT_NAMES = {'inf': math.inf, 'nan': math.nan}
_CHECKPOINT_SUFFIXES = ('.tar', '.pth', '.pt', '.ckpt', '.safetensors', '.bin')


class ConfigDumpError(ValueError):
    """A file that is no config dump of literals (it is never run)."""


def read_config_dump(path: PathLike) -> Dict[str, Any]:
    """The config mmengine dumped to ``path``, as plain data (dicts, lists, tuples, literals).

    Raises:
        ConfigDumpError: naming the file and line of anything but ``name = literal`` lines.
    """
    path = Path(path)
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError) as err:
        raise ConfigDumpError(f'{path} is not a config dump: {err}') from err
    data: Dict[str, Any] = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            data[node.targets[0].id] = _literal(node.value, path)
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            raise ConfigDumpError(f'{path}:{node.lineno}: not a config dump ({type(node).__name__} '
                                  'where mmengine writes `name = value` lines)')
    return data


def _literal(node: ast.AST, path: Path) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(item, path) for item in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k, path): _literal(v, path) for k, v in zip(node.keys, node.values)}
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict'
            and len(node.args) <= 1 and all(k.arg is not None for k in node.keywords)):
        # dict(a=1), or dict({'0': 1}) for keys that are no identifiers
        items = _literal(node.args[0], path) if node.args else {}
        if isinstance(items, dict):
            return {**items, **{k.arg: _literal(k.value, path) for k in node.keywords}}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, path)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Name) and node.id in _FLOAT_NAMES:
        return _FLOAT_NAMES[node.id]
    raise ConfigDumpError(f'{path}:{getattr(node, "lineno", "?")}: {ast.unparse(node)[:60]!r} is '
                          'not a literal (a config dump holds literals and dict(...) only)')


def find_config(work_dir: PathLike, written_by: Optional[float] = None
                ) -> Tuple[Optional[Path], Optional[Dict[str, Any]], str]:
    """The config dump of the run that wrote a record in ``work_dir``, read as data.

    Candidates, in this order: ``<timestamp>/vis_data/config.py`` (one per run), then the
    ``*.py`` dumps in the work dir (rewritten by later runs); the newest first, and, with
    ``written_by`` (the record's modification time), those not written after it first: a later
    ``tools/test.py`` in the same work dir dumps its own config.

    Returns:
        The file, its data, and '' -- or ``(None, None, why)`` when no candidate is a config dump.
    """
    work_dir = Path(work_dir)
    per_run = list(work_dir.glob('*/vis_data/config.py'))
    shared = [p for p in work_dir.glob('*.py') if p.is_file()]
    candidates: List[Path] = []
    for group in (per_run, shared):
        group.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        if written_by is not None:
            group.sort(key=lambda p: p.stat().st_mtime > written_by + 1.0)
        candidates += group
    problems = []
    for path in candidates:
        try:
            data = read_config_dump(path)
        except (ConfigDumpError, OSError) as err:
            problems.append(str(err))
            continue
        if isinstance(data.get('model'), dict):
            return path, data, ''
        problems.append(f'{path} holds no model')
    return None, None, ('no config dump in the work dir (<timestamp>/vis_data/config.py or '
                        '<config name>.py, written by mmengine)' if not problems
                        else '; '.join(problems[:2]))


def flatten(data: Any, prefix: str = '') -> Dict[str, Any]:
    """Nested dicts and lists as one dict of dotted keys (``custom_hooks.0.ticket``) to leaves;
    empty containers become ``'[]'`` and ``'{}'``."""
    if isinstance(data, dict) and data:
        items = [(str(k), v) for k, v in data.items()]
    elif isinstance(data, (list, tuple)) and data:
        items = [(str(i), v) for i, v in enumerate(data)]
    else:
        if isinstance(data, (dict, list, tuple)):
            data = '{}' if isinstance(data, dict) else '[]'
        return {prefix: data}
    flat: Dict[str, Any] = {}
    for key, value in items:
        flat.update(flatten(value, f'{prefix}.{key}' if prefix else key))
    return flat


def _dataset(node: Any) -> List[str]:
    """Labels of the datasets under a dataset config (wrappers unwrapped)."""
    if not isinstance(node, dict):
        return []
    if isinstance(node.get('dataset'), dict):
        return _dataset(node['dataset'])
    if isinstance(node.get('datasets'), (list, tuple)):
        return [label for child in node['datasets'] for label in _dataset(child)]
    name = str(node.get('type', '?')).rsplit('.', 1)[-1]
    for suffix in ('Dataset', 'Split'):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[:-len(suffix)]
    classes = node.get('classes') or (node.get('metainfo') or {}).get('classes')
    return [f'{name} {_classes(classes)}' if classes else name]


def _classes(classes: Any) -> str:
    """``0-4`` for consecutive integers, else up to three names and how many more."""
    items = list(classes) if isinstance(classes, (list, tuple)) else [classes]
    if len(items) > 1 and all(isinstance(c, int) for c in items) and items == list(
            range(items[0], items[0] + len(items))):
        return f'{items[0]}-{items[-1]}'
    shown = ','.join(str(c) for c in items[:3])
    return shown + (f',... ({len(items)} classes)' if len(items) > 3 else '')


def dataset_label(config: Dict[str, Any]) -> str:
    """The task a config trains on: its training dataset's type without ``Dataset`` / ``Split``,
    and the classes it keeps (``Digits 0-4``, ``CIFAR10``, ``VOC``)."""
    labels = _dataset((config.get('train_dataloader') or {}).get('dataset'))
    return '+'.join(dict.fromkeys(labels)) or '?'


def start_weights(config: Dict[str, Any]) -> Optional[str]:
    """The checkpoint a config's model starts from: ``load_from``, else the first ``Pretrained``
    or ``MappedPretrained`` ``init_cfg`` checkpoint; None for a random initialisation."""
    if config.get('load_from'):
        return str(config['load_from'])
    flat = flatten(config.get('model') or {})
    for key, value in flat.items():
        if key.endswith('.checkpoint') and value and str(
                flat.get(key[:-len('checkpoint')] + 'type')).endswith('Pretrained'):
            return str(value)
    return None


def weights_label(checkpoint: Optional[str], read: bool = True) -> str:
    """A short name for the weights a run starts from: ``random init`` without a checkpoint, the
    task of the run that wrote the checkpoint when the checkpoint is in that run's work dir, beside
    its config dump (``Digits 0-4``), a ``torchvision://`` or ``open-mmlab://`` name as it is,
    else the file name without suffixes (``imagenet_weight``). ``read=False``: the file is not
    looked at (a relative path whose folder is unknown)."""
    if not checkpoint:
        return 'random init'
    path = Path(checkpoint)
    if read and '://' not in checkpoint and path.is_file():
        # <work_dir>/epoch_N.pth, best_*.pth, or an IMP round's <work_dir>/imp/round_XX_best.pth
        work_dir = path.parent.parent if path.parent.name == 'imp' else path.parent
        config = find_config(work_dir, path.stat().st_mtime)[1]
        if config is not None:
            return dataset_label(config)
    if '://' in checkpoint and not checkpoint.startswith(('http://', 'https://')):
        return checkpoint  # torchvision://resnet50, open-mmlab://resnet50_v1c
    name = checkpoint.rstrip('/').rsplit('/', 1)[-1]
    while Path(name).suffix in _CHECKPOINT_SUFFIXES and Path(name).stem:
        name = Path(name).stem
    return name
