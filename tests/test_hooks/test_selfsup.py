"""IMP on the self-supervised tasks: MoCo v2 (the mask shared by the momentum encoder) and SimCLR
(LARS with masked gradients), on tiny versions of the real configs and ImageNet-format files."""
from __future__ import annotations

import copy
import json
import socket
import subprocess
import types
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmpretrain.engine.optimizers import LARS
from torch import nn

from lth_mm.core import Ticket
from lth_mm.core.rewind import load_state
from lth_mm.datasets.fixtures import write_imagenet
from lth_mm.hooks import IMPHook, TicketHook
from lth_mm.hooks.enforce import TicketEnforcingHook

from .conftest import ROOT, build_runner, tool_env, write_config

MOCO = ROOT / 'configs' / 'selfsup' / 'mocov2' / 'imp_mocov2_resnet50_8xb32_in1k.py'
SIMCLR = ROOT / 'configs' / 'selfsup' / 'simclr' / 'imp_simclr_resnet50_8xb32_in1k.py'
SIMCLR_LARGE = ROOT / 'configs' / 'selfsup' / 'simclr' / 'imp_simclr_resnet50_16xb256_in1k.py'


@pytest.fixture(scope='module')
def imagenet(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('imagenet')
    write_imagenet(root, num_classes=2, train_per_class=8, val_per_class=1, size=(36, 36))
    return root


def tiny(config: Path, work_dir: Path, data_root: Path, pretrained: Path, hook: dict,
         **overrides) -> Config:
    """The real self-supervised config, shrunk: ResNet-18 of width 8, 32-pixel crops, batch 8."""
    cfg = Config.fromfile(str(config))
    moco = cfg.model.type == 'MoCo'
    cfg.model.backbone.update(depth=18, stem_channels=8, base_channels=8,
                              init_cfg=dict(type='MappedPretrained', checkpoint=str(pretrained)))
    cfg.model.neck.update(in_channels=64, hid_channels=32, out_channels=16)
    if moco:
        cfg.model.update(queue_len=32, feat_dim=16)
        cfg.model.neck.init_cfg.checkpoint = str(pretrained)
    cfg.train_dataloader.update(batch_size=8, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.data_root = str(data_root)
    cfg.train_dataloader.dataset.pipeline[1].transforms[0][0].scale = 32  # RandomResizedCrop
    cfg.custom_hooks = [dict(cfg.custom_hooks[0], **hook)] + cfg.custom_hooks[1:]
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'ssl_{work_dir.name}_{id(cfg)}'
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1000)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, max_keep_ckpts=-1)
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.merge_from_dict(overrides)
    return cfg


def paper_moco_file(path: Path, model: nn.Module) -> Path:
    """A checkpoint in the layout of the paper's moco_v2_800ep_pretrain.pth.tar for ``model``:
    ``module.encoder_q.*`` (backbone and MLP head ``fc.0`` / ``fc.2``), ``module.encoder_k.*``
    and the queue; every float tensor random, so a load is visible."""
    gen = torch.Generator().manual_seed(1)
    state = {}
    for key, value in model.backbone.state_dict().items():
        state[f'module.encoder_q.{key}'] = _random_like(key, value, gen)
        state[f'module.encoder_k.{key}'] = _random_like(key, value, gen)
    if hasattr(model.neck, 'mlp'):
        for key, value in model.neck.mlp.state_dict().items():
            state[f'module.encoder_q.fc.{key}'] = _random_like(key, value, gen)
            state[f'module.encoder_k.fc.{key}'] = _random_like(key, value, gen)
    state['module.queue'] = torch.randn(16, 32, generator=gen)
    state['module.queue_ptr'] = torch.zeros(1, dtype=torch.long)
    torch.save({'epoch': 800, 'arch': 'resnet50', 'state_dict': state}, path)
    return path


def _random_like(key: str, value: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    if not value.is_floating_point():
        return value.clone()
    if key.endswith('running_var'):
        return torch.rand(value.shape, generator=gen) + 0.5
    return torch.randn(value.shape, generator=gen) * 0.1


@pytest.fixture(scope='module')
def moco_file(tmp_path_factory, imagenet) -> Path:
    folder = tmp_path_factory.mktemp('moco_file')
    probe = tiny(MOCO, folder / 'probe', imagenet, folder / 'unused.pth', {})
    probe.model.backbone.init_cfg = None
    probe.model.neck.init_cfg = None
    return paper_moco_file(folder / 'moco_v2_800ep_pretrain.pth.tar', build_runner(probe).model)


@HOOKS.register_module(force=True)
class EncoderProbe(Hook):
    """Test probe: before and after every iteration, both MoCo encoders are zero where the
    ticket prunes; records how often it looked and whether the encoders differed."""

    priority = 'LOWEST'
    looks = 0
    different = False

    def _check(self, runner) -> None:
        hook = next(h for h in runner.hooks if isinstance(h, TicketEnforcingHook))
        params = dict(runner.model.named_parameters())
        for name, mask in hook.ticket.items():
            copy_name = 'encoder_k.module.0.' + name[len('backbone.'):]
            for key in (name, copy_name):
                assert torch.count_nonzero(params[key].detach()[~mask]) == 0, key
            EncoderProbe.different |= not torch.equal(params[name], params[copy_name])
        # One bit per pruned weight in all: both encoders' masks are the ticket's own bytes.
        own = {m.data_ptr() for m in hook.ticket._bits.values()}
        assert hook._applier.nbytes == hook._copies.nbytes == 0
        assert {m.data_ptr() for m in hook._copies.masks} <= own
        EncoderProbe.looks += 1

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._check(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._check(runner)


@pytest.fixture
def probe():
    EncoderProbe.looks, EncoderProbe.different = 0, False
    yield EncoderProbe


SEARCH = dict(rounds=2, rate=0.5, round_length=1)


def test_moco_search_keeps_both_encoders_zero(tmp_path, imagenet, moco_file, probe):
    cfg = tiny(MOCO, tmp_path / 'moco', imagenet, moco_file, SEARCH)
    cfg.custom_hooks.append(dict(type='EncoderProbe'))
    runner = build_runner(cfg)
    runner.train()
    iters = 2 * len(runner.train_dataloader)
    assert probe.looks == 2 * iters and probe.different  # every iteration of both rounds
    # The pre-trained file loaded into the online backbone and the MLP neck (the rewind point).
    source = torch.load(moco_file, weights_only=True)['state_dict']
    point = load_state(tmp_path / 'moco' / 'imp' / 'rewind.safetensors')
    assert torch.equal(point['backbone.layer1.0.conv1.weight'],
                       source['module.encoder_q.layer1.0.conv1.weight'])
    assert torch.equal(point['neck.mlp.2.weight'], source['module.encoder_q.fc.2.weight'])
    # No validation: every round records its training loss and keeps its last weights.
    rows = json.loads((tmp_path / 'moco' / 'imp' / 'summary.json').read_text())
    assert [r['round'] for r in rows] == [1, 2]
    assert [round(r['sparsity'], 3) for r in rows] == [0.5, 0.75]
    for row in rows:
        assert row['train_loss'] > 0 and row['best_val_metric'] is None
        last = torch.load(tmp_path / 'moco' / row['last_checkpoint'], weights_only=True)
        ticket = Ticket.unpack(last['lth_mm_ticket'])
        assert ticket.digest() == row['ticket_digest'] and set(ticket) == set(
            k for k in last['state_dict'] if k.startswith('backbone.layer')
            and k.endswith('weight') and last['state_dict'][k].dim() == 4)
    assert 'train_loss' in (tmp_path / 'moco' / 'imp' / 'summary.csv').read_text()


def test_moco_resume_from_a_dense_momentum_encoder(tmp_path, imagenet, moco_file, probe):
    work = tmp_path / 'moco'
    cfg = tiny(MOCO, work, imagenet, moco_file, SEARCH)
    with pytest.raises(RuntimeError, match='simulated'):
        build_runner(_with(cfg, dict(type='CrashAtEpoch', epoch=1))).train()
    checkpoint = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=False)
    state = checkpoint['state_dict']
    for key in [k for k in state if k.startswith('encoder_k.module.0.layer')
                and state[k].is_floating_point()]:
        state[key] = torch.randn_like(state[key]) + 3.0  # dense: nothing pruned
    torch.save(checkpoint, work / 'epoch_1.pth')
    resumed = _with(cfg, dict(type='EncoderProbe'))
    resumed.resume = True
    build_runner(resumed).train()
    assert probe.looks > 0  # the first look is before the first iteration after the resume


def _with(cfg: Config, hook: dict) -> Config:
    cfg = copy.deepcopy(cfg)
    cfg.custom_hooks = list(cfg.custom_hooks) + [hook]
    return cfg


# LARS ------------------------------------------------------------------------------------------
def _lars_steps(mask_grads: bool, steps: int = 3):
    """A masked conv trained by LARS (through the hooks' gradient masking), beside the same
    conv with the pruned weights removed: a 1-D parameter of the kept weights only."""
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, bias=False)
    mask = torch.rand(conv.weight.shape) > 0.6
    ticket = Ticket({'weight': mask})
    hook = TicketEnforcingHook(mask_grads=mask_grads)
    hook.set_ticket(types.SimpleNamespace(model=conv), ticket)
    kept = nn.Parameter(conv.weight.detach()[mask].clone())
    start = kept.detach().clone()
    options = dict(lr=0.5, momentum=0.9, weight_decay=1e-4)
    masked_opt, kept_opt = LARS([conv.weight], **options), LARS([kept], **options)
    inputs, target = torch.randn(5, 4, 8, 8), torch.randn(5, 6, 6, 6)
    for _ in range(steps):
        for weight, optimizer in ((conv.weight, masked_opt), (None, kept_opt)):
            optimizer.zero_grad()
            if weight is None:
                weight = torch.zeros(mask.shape).masked_scatter(mask, kept)
            loss = (nn.functional.conv2d(inputs, weight) - target).square().mean()
            loss.backward()
            optimizer.step()
        hook.apply_mask()  # after_train_iter
    # The updates of the kept weights, in both models.
    return conv.weight.detach()[mask] - start, kept.detach() - start, conv.weight, mask, masked_opt


def test_lars_with_masked_gradients_equals_lars_without_the_pruned_weights():
    masked, reference, weight, mask, optimizer = _lars_steps(mask_grads=True)
    assert reference.abs().max() > 0
    torch.testing.assert_close(masked, reference, rtol=1e-4, atol=1e-9)
    assert torch.count_nonzero(weight.detach()[~mask]) == 0
    buffer = optimizer.state[weight]['momentum_buffer']
    assert torch.count_nonzero(buffer[~mask]) == 0  # the momentum holds nothing for them
    # Without the masking the pruned positions' gradients enter ||g||: another trust ratio.
    masked, reference, *_ = _lars_steps(mask_grads=False)
    assert ((masked - reference).norm() / reference.norm()) > 0.1


# SimCLR ----------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def simclr_file(tmp_path_factory, imagenet) -> Path:
    """A checkpoint in the layout of the paper's simclr_weight.pt for the tiny backbone:
    ``{'state_dict': torchvision names}``, with a 1000-way classifier the search does not use."""
    folder = tmp_path_factory.mktemp('simclr_file')
    probe = tiny(SIMCLR, folder / 'probe', imagenet, folder / 'unused.pth', {})
    probe.model.backbone.init_cfg = None
    backbone = build_runner(probe).model.backbone
    gen = torch.Generator().manual_seed(2)
    state = {k: _random_like(k, v, gen) for k, v in backbone.state_dict().items()}
    state.update({'fc.weight': torch.randn(1000, 64), 'fc.bias': torch.zeros(1000)})
    torch.save({'state_dict': state}, folder / 'simclr_weight.pt')
    return folder / 'simclr_weight.pt'


@pytest.mark.parametrize('config', [SIMCLR, SIMCLR_LARGE], ids=['8xb32', '16xb256'])
def test_simclr_search(tmp_path, imagenet, simclr_file, config):
    cfg = tiny(config, tmp_path / 'simclr', imagenet, simclr_file, SEARCH)
    assert cfg.optim_wrapper.optimizer.type == 'LARS'
    hook = cfg.custom_hooks[0]
    assert hook.mask_grads and hook.scope == dict(prefix='backbone.')
    runner = build_runner(cfg)
    runner.train()
    imp = next(h for h in runner.hooks if isinstance(h, IMPHook))
    params = dict(runner.model.named_parameters())
    for name, mask in imp.ticket.items():
        assert torch.count_nonzero(params[name].detach()[~mask]) == 0
        assert params[name].grad is None or torch.count_nonzero(params[name].grad[~mask]) == 0
    source = torch.load(simclr_file, weights_only=True)['state_dict']
    point = load_state(tmp_path / 'simclr' / 'imp' / 'rewind.safetensors')
    assert torch.equal(point['backbone.layer2.0.conv1.weight'], source['layer2.0.conv1.weight'])
    rows = json.loads((tmp_path / 'simclr' / 'imp' / 'summary.json').read_text())
    assert [round(r['sparsity'], 3) for r in rows] == [0.5, 0.75]
    assert all(r['train_loss'] > 0 and r['last_checkpoint'] for r in rows)


# Transfer of a pre-training ticket -------------------------------------------------------------
def test_a_pretraining_ticket_transfers_downstream(tmp_path, imagenet, moco_file):
    """The MoCo search's backbone ticket fits the classification transfer configs and converts
    into the original code's torchvision-named mask file."""
    build_runner(tiny(MOCO, tmp_path / 'moco', imagenet, moco_file,
                      dict(rounds=1, rate=0.5, round_length=1))).train()
    path = tmp_path / 'moco' / 'imp' / 'tickets' / 'round_01.safetensors'
    ticket = Ticket.load(path)
    assert all(k.startswith('backbone.layer') for k in ticket)
    from mmpretrain.registry import MODELS
    for task in ('cifar10', 'cifar100', 'svhn', 'fmnist', 'visda2017'):
        cfg = Config.fromfile(str(ROOT / 'configs' / 'classification' / task /
                                  f'transfer_moco_resnet50_{task}.py'))
        cfg.model.backbone.update(depth=18, stem_channels=8, base_channels=8, init_cfg=None)
        cfg.model.head.in_channels = 64
        model = MODELS.build(cfg.model)
        hook = TicketHook(ticket=str(path))
        loaded = hook.load_ticket(model)
        assert loaded == ticket, task
        loaded.apply_(model)
        params = dict(model.named_parameters())
        assert all(torch.count_nonzero(params[k][~m]) == 0 for k, m in ticket.items())
    from .test_trusted_runs import _tool
    _tool('ticket').main(['convert', str(path), str(tmp_path / 'mask.pth.tar'),
                          '--dst-scheme', 'torchvision'])
    masks = torch.load(tmp_path / 'mask.pth.tar', weights_only=True)['state_dict']
    assert set(masks) == {k[len('backbone.'):-len('weight')] + 'weight_mask' for k in ticket}
    assert Ticket.read(tmp_path / 'mask.pth.tar').add_prefix('backbone.') == ticket


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_moco_search_on_two_gloo_processes(tmp_path, imagenet, moco_file):
    work = tmp_path / 'ddp'
    cfg = tiny(MOCO, work, imagenet, moco_file, SEARCH)
    config = write_config(tmp_path / 'moco.py', cfg, probe=True)
    env = tool_env(tmp_path)
    env['PORT'] = str(_free_port())
    result = subprocess.run(['bash', str(ROOT / 'tools' / 'dist_train.sh'), str(config), '2',
                             '--work-dir', str(work)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ranks = [json.loads((work / f'rank{r}.json').read_text()) for r in (0, 1)]
    assert ranks[0]['rows'] == ranks[1]['rows'] and len(ranks[0]['rows']) == 2
    assert ranks[0]['weights'] == ranks[1]['weights']
    tickets = sorted((work / 'imp' / 'tickets').glob('round_*.safetensors'))
    assert [row[2] for row in ranks[0]['rows']] == [Ticket.load(p).digest() for p in tickets[1:]]


def test_moco_search_from_the_openmmlab_zoo_checkpoint(tmp_path, imagenet, moco_file, probe):
    """load_from a checkpoint of MMPretrain's MoCo itself (momentum encoder dense, steps > 0):
    the rewind point holds both encoders as loaded; both keep the mask at every iteration."""
    cfg = tiny(MOCO, tmp_path / 'zoo', imagenet, moco_file, {})
    cfg.model.backbone.init_cfg = None
    cfg.model.neck.init_cfg = None
    model = build_runner(copy.deepcopy(cfg)).model
    gen = torch.Generator().manual_seed(3)
    state = {k: _random_like(k, v, gen) for k, v in model.state_dict().items()}
    state['encoder_k.steps'] = torch.tensor([1000])
    torch.save({'state_dict': state, 'meta': {}}, tmp_path / 'mocov2_zoo.pth')
    cfg.load_from = str(tmp_path / 'mocov2_zoo.pth')
    cfg.custom_hooks = [dict(cfg.custom_hooks[0], **SEARCH), dict(type='EncoderProbe')]
    build_runner(cfg).train()
    assert probe.looks > 0 and probe.different
    point = load_state(tmp_path / 'zoo' / 'imp' / 'rewind.safetensors')
    for key in ('encoder_k.module.0.layer1.0.conv1.weight', 'backbone.layer1.0.conv1.weight',
                'queue'):
        assert torch.equal(point[key], state[key]), key


def test_moco_pt_has_no_projection_head(tmp_path, imagenet):
    """moco.pt (encoder_q only, torchvision names): the backbone loads, the neck is reported."""
    from lth_mm.core import keymap
    cfg = tiny(MOCO, tmp_path / 'probe', imagenet, tmp_path / 'unused.pth', {})
    cfg.model.backbone.init_cfg = None
    cfg.model.neck.init_cfg = None
    model = build_runner(cfg).model
    gen = torch.Generator().manual_seed(4)
    state = {k: _random_like(k, v, gen) for k, v in model.backbone.state_dict().items()}
    torch.save(state, tmp_path / 'moco.pt')
    report = keymap.load_pretrained(model, tmp_path / 'moco.pt')
    assert torch.equal(model.backbone.layer4[1].conv2.weight, state['layer4.1.conv2.weight'])
    assert sorted(report.missing) == ['neck.mlp.0.bias', 'neck.mlp.0.weight', 'neck.mlp.2.bias',
                                      'neck.mlp.2.weight']
