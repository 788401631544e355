"""The docs' commands hold: the configs and links they name exist, their ``--cfg-options`` parse
as mmengine parses them and name real hook arguments, and every benchmark script is listed.

Covers README.md, docs/*.md and tools/benchmarks/README.md. Placeholders are expanded as a reader
would: ``{a,b}`` to each choice, ``<d>`` to any one folder.
"""
from __future__ import annotations

import argparse
import inspect
import itertools
import re
from pathlib import Path

import pytest
from mmengine.config import Config, DictAction
from mmengine.registry import HOOKS

from lth_mm.registry import register_all_modules

from .conftest import REPO

DOCS = [REPO / 'README.md', *sorted((REPO / 'docs').glob('*.md')),
        REPO / 'tools' / 'benchmarks' / 'README.md']

# A config path starts a word (not the tail of ``tests/test_configs/...``).
CONFIG_PATH = re.compile(r'(?<![\w/])configs/[\w./{},<>-]+\.py')
OPTION = re.compile(r'^[\w.\[\]]+=\S*$')


def _doc_id(path: Path) -> str:
    return str(path.relative_to(REPO))


def _expand(pattern: str) -> list[str]:
    """``{a,b}`` to each choice (every brace of a pattern independently)."""
    parts = re.split(r'\{([^{}]*)\}', pattern)
    choices = [[part] if i % 2 == 0 else part.split(',') for i, part in enumerate(parts)]
    return [''.join(combo) for combo in itertools.product(*choices)]


def _exists(path: str) -> bool:
    if '<' in path:  # a placeholder: any folder will do
        return any(REPO.glob(re.sub(r'<[^<>]*>', '*', path)))
    return (REPO / path).is_file()


def _cfg_options(text: str) -> list[tuple[str, list[str]]]:
    """Each ``--cfg-options`` of ``text``: the line it starts on and its ``key=value`` tokens
    (up to the end of the inline code span, table cell or command)."""
    found = []
    for match in re.finditer(r'--cfg-options', text):
        rest = re.split(r'`|\|\s|\n\s*\n|\n```', text[match.end():], maxsplit=1)[0]
        tokens = []
        for token in rest.replace('\\\n', ' ').split():
            if not OPTION.match(token):
                break
            tokens.append(token)
        line = text[:match.start()].rsplit('\n', 1)[-1]
        found.append((line, tokens))
    # Options written alone as inline code (`custom_hooks.0.overwrite=True`): meant for the same
    # command line.
    for match in re.finditer(r'`(custom_hooks\.[^`]+)`', text):
        tokens = match.group(1).split()
        if all(OPTION.match(token) for token in tokens):
            found.append((text[:match.start()].rsplit('\n', 1)[-1], tokens))
    return found


@pytest.mark.parametrize('doc', DOCS, ids=_doc_id)
def test_named_configs_exist(doc: Path) -> None:
    missing = [path for pattern in set(CONFIG_PATH.findall(doc.read_text()))
               for path in _expand(pattern) if not _exists(path)]
    assert not missing, f'{_doc_id(doc)} names configs that do not exist: {missing}'


def _parse(tokens: list[str]) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *tokens]).cfg_options


@pytest.mark.parametrize('doc', DOCS, ids=_doc_id)
def test_cfg_options_parse_as_mmengine_parses_them(doc: Path) -> None:
    for line, tokens in _cfg_options(doc.read_text()):
        if not tokens:  # prose about the flag, no command
            continue
        try:
            options = _parse(tokens)
        except (RecursionError, ValueError, SyntaxError) as err:
            pytest.fail(f'{_doc_id(doc)}: `--cfg-options {" ".join(tokens)}` does not parse '
                        f'({type(err).__name__}); near: {line.strip()[:80]}')
        assert set(options) == {token.split('=', 1)[0] for token in tokens}


def _hook_arguments(hook_type: str) -> dict[str, inspect.Parameter]:
    register_all_modules(init_default_scope=False)
    cls = HOOKS.get(hook_type)
    assert cls is not None, f'hook type {hook_type!r} is not registered'
    return {name: p for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != 'self'}


def _commands_with_hook_options() -> list[tuple[str, str, list[str]]]:
    """(doc, config, tokens) for each command that names one config and sets custom hooks."""
    cases = []
    for doc in DOCS:
        text = doc.read_text()
        for line, tokens in _cfg_options(text):
            hook_tokens = [t for t in tokens if t.startswith('custom_hooks.')]
            configs = CONFIG_PATH.findall(line)
            if not hook_tokens or len(configs) != 1:
                continue
            for config in _expand(configs[0]):
                if '<' not in config:
                    cases.append((_doc_id(doc), config, hook_tokens))
    return cases


CASES = _commands_with_hook_options()


def test_commands_with_hook_options_are_found() -> None:
    # The README and docs/classification.md show such commands; an empty list would make the
    # next test pass without checking anything.
    assert len(CASES) >= 12


@pytest.mark.parametrize('doc,config,tokens', CASES,
                         ids=[f'{c[0]}:{Path(c[1]).stem}' for c in CASES])
def test_hook_options_name_arguments_of_the_configs_hooks(doc: str, config: str,
                                                          tokens: list[str]) -> None:
    hooks = Config.fromfile(REPO / config).get('custom_hooks', [])
    for token in tokens:
        index, argument = token.split('.')[1:3]
        argument = argument.split('=')[0]
        assert int(index) < len(hooks), f'{doc}: {config} has no custom_hooks.{index} ({token})'
        hook_type = hooks[int(index)]['type']
        arguments = _hook_arguments(hook_type)
        assert argument in arguments, f'{doc}: {token}: {hook_type} has no argument {argument!r}'
        if isinstance(arguments[argument].default, bool) and token.count('.') == 2:
            # An on/off option takes only True or False (overwrite=yes is refused).
            assert isinstance(_parse([token])[token.split('=')[0]], bool), (
                f'{doc}: {token}: {hook_type}.{argument} takes True or False')


def test_every_benchmark_script_is_listed() -> None:
    text = (REPO / 'tools' / 'benchmarks' / 'README.md').read_text()
    for script in sorted((REPO / 'tools' / 'benchmarks').glob('bench_*.py')):
        assert f'| `{script.name}` |' in text, f'{script.name} is not in the table'
        assert f'tools/benchmarks/{script.name} [' in text, f'{script.name} has no usage line'


@pytest.mark.parametrize('doc', DOCS, ids=_doc_id)
def test_relative_links_resolve(doc: Path) -> None:
    text = re.sub(r'```.*?```', '', doc.read_text(), flags=re.S)
    broken = []
    for target in re.findall(r'\]\(([^()\s]+)\)', text):
        if re.match(r'[a-z]+:', target) or target.startswith('#'):
            continue
        if not (doc.parent / target.split('#')[0]).exists():
            broken.append(target)
    assert not broken, f'{_doc_id(doc)} links to missing files: {broken}'
