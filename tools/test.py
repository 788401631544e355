"""Test (and evaluate) a checkpoint with an OpenMMLab config (mmpretrain, mmdet or mmseg).

``import lth_mm`` applies :mod:`lth_mm.compat` (so mmengine checkpoints load under torch's
``weights_only`` default) and registers lth_mm's modules. With an IMP config the checkpoint is
evaluated under the ticket it records; with a transfer (``TicketHook``) config it must record
that config's ticket. Examples::

    python tools/test.py configs/xxx.py work_dirs/xxx/epoch_3.pth
    python tools/test.py configs/xxx.py ckpt.pth --out preds.pkl      # also dump the predictions
    python tools/test.py configs/xxx.py ckpt.pth --show-dir vis       # and draw them
    bash tools/dist_test.sh configs/xxx.py ckpt.pth 2
"""
from __future__ import annotations

import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import lth_mm  # noqa: F401  (compat patches and registration)
from lth_mm.compat import ALLOW_PICKLE_ENV
from lth_mm.engine.runner_utils import CfgOptions, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument('--out', help='dump the predictions to this pickle file')
    parser.add_argument(
        '--show-dir', help="draw every test prediction and save the images where each "
        "codebase's own test.py does: MMPretrain in SHOW_DIR, MMDetection in "
        '<work_dir>/<timestamp>/SHOW_DIR, MMSegmentation in SHOW_DIR/vis_data/vis_image '
        '(a relative SHOW_DIR from the current folder, but for MMDetection)')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision test (float16 on a GPU, bfloat16 on the CPU)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptions,
        help='override config settings, key=value pairs merged into the config')
    parser.add_argument(
        '--allow-pickle', action='store_true',
        help='read checkpoints (load_from, --resume, pre-trained weights) by full unpickling '
        'where they hold more than plain data; that runs code from the files, so only for files '
        f'you trust (sets {ALLOW_PICKLE_ENV}=1)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if args.out and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out {args.out}: the predictions are dumped as a pickle; name the file '
                     '.pkl or .pickle')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.allow_pickle:  # read where mmengine loads checkpoints (lth_mm.compat)
        os.environ[ALLOW_PICKLE_ENV] = '1'
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line arguments to the config (``--cfg-options`` first, so the
    checkpoint argument is what is evaluated)."""
    cfg.launcher = args.launcher  # before --cfg-options, which win (as in MMDet and MMSeg)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.launcher != 'none' and not torch.cuda.is_available():
        cfg.merge_from_dict({'env_cfg.dist_cfg.backend': 'gloo'})  # no NCCL without a GPU

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    cfg.load_from = args.checkpoint
    if args.show_dir:
        show_predictions(cfg, args.show_dir)
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)

    return cfg


def show_predictions(cfg: Config, show_dir: str) -> None:
    """Turn on the config's visualization hook to save every test prediction in ``show_dir``,
    where MMPretrain's, MMDetection's and MMSegmentation's ``tools/test.py`` save them (each
    codebase's hook takes other settings)."""
    hook = (cfg.get('default_hooks') or {}).get('visualization')
    kind = str(hook.get('type', '')).rsplit('.', 1)[-1] if hook else None
    if kind == 'VisualizationHook':  # MMPretrain: every sample (its default draws 1 in 5000)
        hook.update(enable=True, out_dir=show_dir, interval=1)
    elif kind == 'DetVisualizationHook':
        hook.update(draw=True, test_out_dir=show_dir)
    elif kind == 'SegVisualizationHook':  # every image (its default: 1 batch in 50), drawn
        hook.update(draw=True, interval=1)  # through the visualizer's backends
        cfg.visualizer = dict(cfg.get('visualizer') or {}, save_dir=show_dir)
    else:
        raise ValueError(
            f'--show-dir {show_dir}: default_hooks.visualization is '
            f'{"missing" if hook is None else repr(kind)}; add the hook of the config\'s '
            "codebase (MMPretrain's VisualizationHook, MMDetection's DetVisualizationHook or "
            "MMSegmentation's SegVisualizationHook), as their default_runtime bases do")


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if args.out:
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    return runner.test()


if __name__ == '__main__':
    run_main(main)
