"""mmcv's compiled CPU ops (mmcv built from source with MMCV_WITH_OPS=1) give known results."""
from __future__ import annotations

import torch
from mmcv.ops import batched_nms, nms, roi_align

BOXES = torch.tensor([[0.0, 0.0, 10.0, 10.0],    # IoU(0, 1) = 81 / 119 = 0.68
                      [1.0, 1.0, 11.0, 11.0],
                      [20.0, 20.0, 30.0, 30.0]])
SCORES = torch.tensor([0.9, 0.8, 0.7])


def test_nms_suppresses_the_overlapping_box() -> None:
    dets, keep = nms(BOXES, SCORES, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert torch.equal(dets, torch.cat([BOXES, SCORES[:, None]], 1)[[0, 2]])
    _, keep = nms(BOXES, SCORES, iou_threshold=0.7)
    assert keep.tolist() == [0, 1, 2]


def test_batched_nms_keeps_boxes_of_other_classes() -> None:
    cfg = dict(type='nms', iou_threshold=0.5)
    _, keep = batched_nms(BOXES, SCORES, torch.tensor([0, 1, 0]), cfg)
    assert keep.tolist() == [0, 1, 2]
    dets, keep = batched_nms(BOXES, SCORES, torch.tensor([0, 0, 0]), cfg)
    assert keep.tolist() == [0, 2]
    assert torch.allclose(dets[:, 4], SCORES[[0, 2]])


def test_roi_align_bilinear_values_and_gradient() -> None:
    feat = torch.arange(16.0).reshape(1, 1, 4, 4).requires_grad_()
    rois = torch.tensor([[0.0, 0.0, 0.0, 4.0, 4.0]])  # batch index, x1, y1, x2, y2
    # An autograd Function: positional arguments only (spatial_scale, sampling_ratio, pool_mode,
    # aligned).
    out = roi_align(feat, rois, (2, 2), 1.0, 1, 'avg', True)
    # aligned=True shifts by half a pixel: one sample per bin at (0.5|2.5, 0.5|2.5), each the
    # mean of a 2x2 neighbourhood.
    assert torch.allclose(out, torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]]))
    out.sum().backward()
    assert torch.isclose(feat.grad.sum(), torch.tensor(4.0))  # each bin spreads a weight of 1
    assert (feat.grad >= 0).all()
