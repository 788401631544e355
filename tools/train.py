"""Train a model from an OpenMMLab config (mmpretrain, mmdet or mmseg), as OpenMMLab repos do.

``import lth_mm`` applies :mod:`lth_mm.compat` and registers lth_mm's modules, so configs of the
three codebases and lth_mm's own configs run here. Examples::

    python tools/train.py configs/xxx.py
    python tools/train.py configs/xxx.py --resume                 # the latest checkpoint (if any)
    python tools/train.py configs/xxx.py --cfg-options train_cfg.max_epochs=3
    bash tools/dist_train.sh configs/xxx.py 2                     # CPU: gloo, GPU: nccl
"""
from __future__ import annotations

import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import lth_mm  # noqa: F401  (compat patches and registration)
from lth_mm.compat import ALLOW_PICKLE_ENV
from lth_mm.engine.runner_utils import (
    RESUME_FOUND_NOTHING,
    CfgOptions,
    latest_checkpoint,
    run_main,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint; without a path, from the latest checkpoint in the '
        'work directory')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision training (needs a CUDA GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual total batch size')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptions,
        help='override config settings, key=value pairs merged into the config, e.g. '
        'train_cfg.max_epochs=3 or key="[a,b]"')
    parser.add_argument(
        '--allow-pickle', action='store_true',
        help='read checkpoints (load_from, --resume, pre-trained weights) by full unpickling '
        'where they hold more than plain data; that runs code from the files, so only for files '
        f'you trust (sets {ALLOW_PICKLE_ENV}=1)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if args.amp and not torch.cuda.is_available():
        # mmengine 0.10.7's AmpOptimWrapper asserts a GPU/NPU/MLU/MUSA device at construction.
        parser.error('--amp needs a CUDA GPU: mmengine\'s AmpOptimWrapper does not run on the CPU')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.allow_pickle:  # read where mmengine loads checkpoints (lth_mm.compat)
        os.environ[ALLOW_PICKLE_ENV] = '1'
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line arguments to the config.

    ``--cfg-options`` are merged first (as MMDetection's train.py does), so ``--resume`` decides
    last: a ``load_from`` given there is the run's starting point, not the checkpoint to resume.
    """
    cfg.launcher = args.launcher  # before --cfg-options, which win (as in MMDet and MMSeg)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.launcher != 'none' and not torch.cuda.is_available():
        cfg.merge_from_dict({'env_cfg.dist_cfg.backend': 'gloo'})  # no NCCL without a GPU

    # work_dir: command line > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.auto_scale_lr:
        if 'base_batch_size' not in (cfg.get('auto_scale_lr') or {}):
            raise ValueError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        latest = latest_checkpoint(cfg.work_dir)
        if latest is None:
            # Nothing to resume: start the run as configured (keep load_from, the pre-trained
            # weights), where mmengine would start it from a random initialisation.
            print(f'train.py: --resume: no checkpoint in {cfg.work_dir}; starting a new run',
                  flush=True)
        else:  # named explicitly: an emptied last_checkpoint (a kill mid-write) cannot mislead
            cfg.resume = True
            cfg.load_from = latest
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    return cfg


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if args.resume == 'auto' and not cfg.get('resume', False):
        # --resume found no checkpoint: the hooks may start a search killed before its first
        # one again. On the runner, not in the config, which mmengine dumps into the work dir.
        setattr(runner, RESUME_FOUND_NOTHING, True)
    runner.train()


if __name__ == '__main__':
    run_main(main)
