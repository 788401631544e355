"""Statistics of tickets: overlap (IoU) and kernel structure, on hand-made and random masks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lth_mm.analysis.stats import (
    OTHER,
    MaskSet,
    choose_layer,
    kernel_stats,
    overlap,
    stage_of,
)
from lth_mm.core import Ticket

FAST = settings(max_examples=40, deadline=None)


def _set(**tickets: Ticket) -> MaskSet:
    return MaskSet.from_tickets(tickets)


@pytest.mark.parametrize('name,stage', [
    ('layer1.0.conv1.weight', 'layer1'),
    ('backbone.layer3.1.conv2.weight', 'layer3'),
    ('encoder_q.layer4.2.downsample.0.weight', 'layer4'),
    ('backbone.stem.3.weight', OTHER),
    ('conv1.weight', OTHER),
    ('head.fc.weight', OTHER),
    ('layer10.conv.weight', OTHER),
])
def test_stage_of(name: str, stage: str) -> None:
    assert stage_of(name) == stage


# Overlap ----------------------------------------------------------------------------------------
def test_identical_tickets_give_iou_one_and_reverse_zero(resnet18_tickets) -> None:
    ticket = resnet18_tickets['magnitude']
    ov = overlap(_set(a=ticket, same=Ticket(dict(ticket)), reverse=ticket.reverse()))
    assert ov.groups == ('overall', 'layer1', 'layer2', 'layer3', 'layer4')
    assert (ov.iou[:, 0, 1] == 1).all() and (ov.layer_iou[0, 1] == 1).all()
    assert (ov.iou[:, 0, 2] == 0).all() and (ov.layer_iou[0, 2] == 0).all()
    assert (ov.iou[:, [0, 1, 2], [0, 1, 2]] == 1).all()
    # Chance depends on the sparsities only: the same for a ticket and its copy.
    np.testing.assert_array_equal(ov.chance[:, 0, 2], ov.chance[:, 1, 2])


def test_overlap_equals_ticket_overlap(resnet18_tickets) -> None:
    names = list(resnet18_tickets)
    ov = overlap(MaskSet.from_tickets(resnet18_tickets))
    for i, j in ((0, 1), (0, 2), (1, 2)):
        expected = resnet18_tickets[names[i]].overlap(resnet18_tickets[names[j]])
        assert ov.iou[0, i, j] == ov.iou[0, j, i] == pytest.approx(expected.overall, abs=1e-12)
        np.testing.assert_allclose(ov.layer_iou[i, j], list(expected.per_layer.values()))


def test_independent_random_tickets_overlap_at_chance(resnet18_tickets) -> None:
    """Two layer-wise random tickets are what the null model describes: their IoU lies within
    5 sd of chance overall and in every stage. So is a random ticket against the magnitude
    ticket of an untrained network (its weights are i.i.d. within a layer)."""
    ov = overlap(MaskSet.from_tickets(resnet18_tickets))  # magnitude, random1, random2
    z = (ov.iou - ov.chance) / ov.chance_sd
    assert (np.abs(z[:, 1, 2]) < 5).all() and (np.abs(z[:, 0, 1]) < 5).all(), z
    assert 0.1 < ov.chance[0, 1, 2] < 0.13  # 0.2097 / (2 - 0.2097) = 0.1171
    assert ov.chance[0, 1, 2] == pytest.approx(0.2097 / (2 - 0.2097), abs=2e-4)


def test_overlap_of_structured_masks_is_far_from_chance() -> None:
    """Two masks that keep the same first half of each layer: IoU 1 against chance 1/3."""
    half = torch.zeros(64, 32, 3, 3, dtype=torch.bool)
    half[:32] = True
    ov = overlap(_set(a=Ticket({'layer1.0.conv1.weight': half}),
                      b=Ticket({'layer1.0.conv1.weight': half.clone()})))
    assert ov.iou[0, 0, 1] == 1
    assert ov.chance[0, 0, 1] == pytest.approx(1 / 3)
    assert (ov.iou[0, 0, 1] - ov.chance[0, 0, 1]) / ov.chance_sd[0, 0, 1] > 100


@st.composite
def _mask_sets(draw) -> MaskSet:
    shapes = draw(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4),
                                     st.sampled_from([1, 3])), min_size=1, max_size=4))
    count = draw(st.integers(1, 4))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    names = [f'{draw(st.sampled_from(["", "backbone."]))}layer{draw(st.integers(1, 4))}.{i}.weight'
             for i in range(len(shapes))]
    tickets = {}
    for t in range(count):
        density = draw(st.floats(0, 1))
        tickets[f't{t}'] = Ticket({name: torch.rand(o, i, k, k, generator=gen) < density
                                   for name, (o, i, k) in zip(names, shapes)})
    return MaskSet.from_tickets(tickets)


@FAST
@given(_mask_sets())
def test_overlap_invariants(ms: MaskSet) -> None:
    ov = overlap(ms)
    for values in (ov.iou, ov.chance, ov.layer_iou, ov.layer_chance):
        assert ((values >= 0) & (values <= 1 + 1e-12)).all()
    for values in (ov.iou, ov.chance, ov.chance_sd):
        np.testing.assert_allclose(values, values.transpose(0, 2, 1))
    for values in (ov.layer_iou, ov.layer_chance):
        np.testing.assert_allclose(values, values.transpose(1, 0, 2))
    assert (ov.iou[:, range(len(ms.labels)), range(len(ms.labels))] == 1).all()
    assert (ov.chance_sd >= 0).all()


# Kernel structure -------------------------------------------------------------------------------
def test_kernel_histogram_of_a_hand_made_mask(conv_ticket) -> None:
    counts = [[0, 9, 3, 0],
              [0, 1, 0, 2],
              [0, 0, 0, 0]]
    ks = kernel_stats(_set(hand=conv_ticket(counts)))
    assert ks.layers == ('layer3.0.conv2.weight',)
    np.testing.assert_array_equal(ks.histogram[0, 0], [8, 1, 1, 1, 0, 0, 0, 0, 0, 1])
    assert ks.histogram[0, 0].sum() == 12  # 3 x 4 kernels
    assert ks.removed['kernels'][0, 0] == 8
    assert ks.removed['input channels'][0, 0] == 1  # input channel 0 is empty in every filter
    assert ks.removed['output channels'][0, 0] == 1  # filter 2 is empty
    assert ks.units['input channels'][0] == 4 and ks.units['output channels'][0] == 3
    observed, chance, sd = ks.fractions('kernels')
    assert observed[0] == pytest.approx(8 / 12)
    assert ks.chance_histogram[0, 0].sum() == pytest.approx(12)
    assert 0 < chance[0] < observed[0] and sd[0] > 0


@FAST
@given(_mask_sets())
def test_kernel_histograms_sum_to_the_kernels_and_match_a_loop(ms: MaskSet) -> None:
    ks = kernel_stats(ms)
    conv3 = [i for i, s in enumerate(ms.shapes) if s[2:] == (3, 3)]
    if not conv3:
        assert ks is None
        return
    assert ks.layers == tuple(ms.names[i] for i in conv3)
    for t in range(len(ms.labels)):
        for pos, layer in enumerate(conv3):
            mask = ms.masks[t][layer]
            out, inp = mask.shape[:2]
            assert ks.histogram[t, pos].sum() == out * inp
            assert ks.chance_histogram[t, pos].sum() == pytest.approx(out * inp)
            expected = np.zeros(10, dtype=int)
            for o in range(out):
                for i in range(inp):
                    expected[int(mask[o, i].sum())] += 1
            np.testing.assert_array_equal(ks.histogram[t, pos], expected)
            assert ks.removed['kernels'][t, pos] == expected[0]
            assert ks.removed['input channels'][t, pos] == sum(
                not mask[:, i].any() for i in range(inp))
            assert ks.removed['output channels'][t, pos] == sum(
                not mask[o].any() for o in range(out))
        observed, chance, sd = ks.fractions('kernels')
        assert 0 <= observed[t] <= 1 and 0 <= chance[t] <= 1 and sd[t] >= 0


def test_random_tickets_have_chance_kernel_structure_and_channel_pruning_does_not(
        resnet18_tickets) -> None:
    random = resnet18_tickets['random1']
    # Prune whole output channels: every other filter of each 3x3 conv, nothing else.
    filters = Ticket({k: m.clone() if m.shape[2:] != (3, 3) else
                      torch.arange(m.shape[0]).remainder(2).bool()[:, None, None, None]
                      .expand(m.shape).clone() for k, m in random.items()})
    ks = kernel_stats(_set(random=random, filters=filters))
    kernels, kernels_chance, kernels_sd = ks.fractions('kernels')
    assert abs(kernels[0] - kernels_chance[0]) < 5 * kernels_sd[0]
    assert kernels[1] == pytest.approx(0.5)
    assert (kernels[1] - kernels_chance[1]) / kernels_sd[1] > 100  # chance: 0.2 % empty
    out, out_chance, _ = ks.fractions('output channels')
    assert out[1] == pytest.approx(0.5) and out_chance[1] < 1e-100 and out[0] == 0


def test_choose_layer() -> None:
    layers = ('backbone.layer1.0.conv2.weight', 'backbone.layer3.0.conv2.weight',
              'backbone.layer3.1.conv2.weight')
    assert choose_layer(layers) == 'backbone.layer3.0.conv2.weight'
    assert choose_layer(layers[:1]) == layers[0]
    assert choose_layer(layers, 'layer3.1.conv2') == layers[2]
    assert choose_layer(layers, 'backbone.layer1.0.conv2.weight') == layers[0]
    with pytest.raises(ValueError, match=r"'layer3' is no 3x3 conv.*backbone.layer1.0.conv2"):
        choose_layer(layers, 'layer3')
    with pytest.raises(ValueError, match='layer3.0.conv9'):
        choose_layer(layers, 'layer3.0.conv9')


def test_mask_set_refuses_unaligned_tickets() -> None:
    with pytest.raises(ValueError, match="'b' differs from the first: .*only in the first: x"):
        _set(a=Ticket({'x.weight': torch.ones(2, 2)}), b=Ticket({'y.weight': torch.ones(2, 2)}))
