"""Options as configs and --cfg-options give them: only real bools, ints and prefix lists."""
from __future__ import annotations

import pytest

from lth_mm.core.options import check_prefixes, flag, integer, prefixes


@pytest.mark.parametrize('value', [True, False])
def test_flag_takes_real_bools(value):
    assert flag(value, 'Hook: x') is value


@pytest.mark.parametrize('value', ['no', 'false', 'False', 1, 0, 0.0, None, [], 'True'])
def test_flag_refuses_what_bool_would_guess(value):
    # bool('no') is True: a config's overwrite='no' would delete an earlier search.
    with pytest.raises(TypeError, match=r"Hook: overwrite must be True or False, got"):
        flag(value, 'Hook: overwrite')


def test_flag_may_allow_none():
    assert flag(None, 'Hook: mask_grads', allow_none=True) is None
    with pytest.raises(TypeError, match='or None'):
        flag('auto', 'Hook: mask_grads', allow_none=True)


@pytest.mark.parametrize('value', [True, '7', 1.0, None])
def test_integer_refuses_bools_strings_and_floats(value):
    with pytest.raises(TypeError, match='Hook: seed must be an integer'):
        integer(value, 'Hook: seed')


def test_integer_takes_ints_and_none_where_allowed():
    assert integer(7, 'Hook: seed') == 7
    assert integer(None, 'Hook: seed', allow_none=True) is None


def test_one_prefix_is_not_split_into_characters():
    # tuple('backbone.layer4') would be ('b', 'a', 'c', ...): nothing rewound as meant.
    assert prefixes('backbone.layer4', 'Hook: keep_prefixes') == ('backbone.layer4',)
    assert prefixes(['a.', 'b.'], 'Hook: keep_prefixes') == ('a.', 'b.')
    assert prefixes((), 'Hook: keep_prefixes') == ()
    assert prefixes('', 'Hook: keep_prefixes') == ()


@pytest.mark.parametrize('value', [None, 3, ['a', 3], ['a', ''], {'a': 1}])
def test_prefixes_refuse_other_values(value):
    with pytest.raises(TypeError, match='Hook: skip must be a list of name prefixes'):
        prefixes(value, 'Hook: skip')


def test_check_prefixes_names_the_ones_that_match_nothing():
    names = ['backbone.conv1.weight', 'head.fc.weight', 'queue']
    check_prefixes(('backbone.', 'queue'), names, 'Hook: keep_prefixes', 'key')
    with pytest.raises(ValueError, match=r"Hook: keep_prefixes: \['heads.fc'\] start no key "
                                         r'\(they look like: backbone.conv1.weight'):
        check_prefixes(('head.', 'heads.fc'), names, 'Hook: keep_prefixes', 'key')
