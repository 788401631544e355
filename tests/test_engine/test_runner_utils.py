"""lth_mm.engine.runner_utils: what in a runner's optimizer wrappers reads whole-gradient norms."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmpretrain.engine.optimizers import LARS, Lamb

from lth_mm.engine.runner_utils import gradient_norm_readers


def _wrapper(optimizer=torch.optim.SGD, **kwargs) -> OptimWrapper:
    return OptimWrapper(optimizer([torch.nn.Parameter(torch.ones(3))], lr=0.1), **kwargs)


def test_clipping_by_norm_and_trust_ratio_optimizers_are_found():
    assert gradient_norm_readers(SimpleNamespace(optim_wrapper=_wrapper(
        clip_grad=dict(max_norm=35, norm_type=2)))) == [
            "clip_grad={'max_norm': 35, 'norm_type': 2}"]
    assert gradient_norm_readers(SimpleNamespace(optim_wrapper=_wrapper(LARS))) == [
        'the LARS optimizer']
    both = OptimWrapperDict(a=_wrapper(Lamb), b=_wrapper(clip_grad=dict(max_norm=1.0)))
    assert gradient_norm_readers(SimpleNamespace(optim_wrapper=both)) == [
        'the Lamb optimizer', "clip_grad={'max_norm': 1.0}"]


def test_subclasses_and_adafactor_are_found_by_name():
    class MyLARS(LARS):
        pass

    assert gradient_norm_readers(SimpleNamespace(optim_wrapper=_wrapper(MyLARS))) == [
        'the MyLARS optimizer']
    assert gradient_norm_readers(SimpleNamespace(optim_wrapper=_wrapper(
        torch.optim.Adafactor))) == ['the Adafactor optimizer']


def test_elementwise_steps_and_unbuilt_wrappers_read_no_norms():
    for wrapper in (_wrapper(), _wrapper(torch.optim.AdamW),
                    _wrapper(clip_grad=dict(type='value', clip_value=0.1)),
                    dict(optimizer=dict(type='SGD', lr=0.1)), None):
        assert gradient_norm_readers(SimpleNamespace(optim_wrapper=wrapper)) == []
    assert gradient_norm_readers(SimpleNamespace()) == []


def test_end_distributed_destroys_the_group_once(tmp_path):
    import torch.distributed as dist

    from lth_mm.engine.runner_utils import end_distributed

    end_distributed()  # no group: nothing to do
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
                            world_size=1)
    assert dist.is_initialized()
    end_distributed()
    assert not dist.is_initialized()
    end_distributed()


@pytest.mark.parametrize('finished', [True, False])
def test_end_distributed_waits_for_the_others_only_after_a_clean_run(tmp_path, monkeypatch,
                                                                       finished):
    """After an error a peer may never reach the barrier: the teardown must not wait for it."""
    import torch.distributed as dist

    from lth_mm.engine.runner_utils import end_distributed

    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
                            world_size=1)
    calls = []
    real_barrier = dist.barrier
    monkeypatch.setattr(dist, 'barrier', lambda *a, **k: (calls.append(1), real_barrier())[1])
    end_distributed(finished)
    assert calls == ([1] if finished else []) and not dist.is_initialized()


def test_run_main_tells_the_teardown_whether_the_tool_finished(monkeypatch):
    from lth_mm.engine import runner_utils

    seen = []
    monkeypatch.setattr(runner_utils, 'end_distributed', seen.append)
    runner_utils.run_main(lambda: None)

    def fails():
        raise RuntimeError('boom')

    with pytest.raises(RuntimeError, match='boom'):
        runner_utils.run_main(fails)
    assert seen == [True, False]
