"""VisDA-2017 classification: synthetic ``train/`` and real ``validation/``, 12 classes."""
from __future__ import annotations

import os
from typing import ClassVar

from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from ._utils import require_files

__all__ = ['VisDA2017']

URL = 'https://github.com/VisionLearningGroup/taskcv-2017-public/tree/master/classification'


@DATASETS.register_module()
class VisDA2017(BaseDataset):
    """VisDA-2017 classification, read from each split folder's ``image_list.txt``.

    Layout::

        data_root/
        ├── train/        (synthetic renderings)
        │   ├── image_list.txt    lines "aeroplane/src_1_02691156_<hash>__<view>.png 0"
        │   └── aeroplane/ ... truck/
        └── validation/   (real images)
            ├── image_list.txt    lines "aeroplane/<image>.jpg 0"
            └── aeroplane/ ... truck/

    Paths are relative to the split folder. Data infos hold ``img_path`` and ``gt_label``, so the
    pipeline starts with ``LoadImageFromFile``.

    Mean per-class accuracy (the usual VisDA metric) needs no new metric: it is the macro mean
    of per-class recall, which mmpretrain computes. Report both it and overall top-1::

        val_evaluator = [
            dict(type='Accuracy', topk=(1, )),                         # accuracy/top1
            dict(type='SingleLabelMetric', items=('recall', ), average='macro'),
        ]                                                               # single-label/recall
        # average=None instead gives 'single-label/recall_classwise' (one value per class).

    ``single-label/recall`` counts a class absent from the ground truth as 0 % (it averages over
    all 12 classes), so it equals mean class accuracy when every class occurs, as in VisDA's
    ``validation/``.

    Args:
        data_root (str): Folder holding ``train/`` and ``validation/``.
        split (str): 'train' (synthetic), 'validation' or its alias 'val' (real).
            Defaults to 'train'.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset`` (pipeline, test_mode, ...).
    """

    METAINFO: ClassVar[dict] = {
        'classes': ('aeroplane', 'bicycle', 'bus', 'car', 'horse', 'knife', 'motorcycle',
                    'person', 'plant', 'skateboard', 'train', 'truck')
    }
    FOLDERS: ClassVar[dict] = {'train': 'train', 'validation': 'validation', 'val': 'validation'}
    LIST_FILE = 'image_list.txt'

    def __init__(self, data_root: str = '', split: str = 'train', **kwargs) -> None:
        name = type(self).__name__
        if split not in self.FOLDERS:
            raise ValueError(f'{name}: split={split!r} is not supported; use one of '
                             f'{tuple(self.FOLDERS)}')
        if not data_root:
            raise ValueError(f'{name}: set data_root to the folder holding train/ and validation/')
        self.split = split
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    @property
    def split_folder(self) -> str:
        """The folder of the split: ``data_root/train`` or ``data_root/validation``."""
        return os.path.join(self.data_root, self.FOLDERS[self.split])

    def load_data_list(self) -> list[dict]:
        """Parse ``image_list.txt`` of the split folder."""
        name = type(self).__name__
        folder = self.split_folder
        require_files(folder, [self.LIST_FILE], name,
                      f'Download and extract the VisDA-2017 classification data ({URL}) so that '
                      f'{folder} holds {self.LIST_FILE} and the class folders.')
        list_file = os.path.join(folder, self.LIST_FILE)
        num_classes = len(self.CLASSES)
        data_list = []
        with open(list_file, encoding='utf-8') as f:
            for line_no, line in enumerate(f, start=1):
                line = line.strip()
                if not line:
                    continue
                parts = line.rsplit(maxsplit=1)
                if len(parts) != 2 or not parts[1].lstrip('-').isdigit() \
                        or not 0 <= int(parts[1]) < num_classes:
                    raise ValueError(f'{name}: {list_file}:{line_no}: expected "<relative path> '
                                     f'<label 0..{num_classes - 1}>", got {line!r}')
                data_list.append(
                    {'img_path': os.path.join(folder, parts[0]), 'gt_label': int(parts[1])})
        if not data_list:
            raise ValueError(f'{name}: {list_file} lists no images')
        return data_list

    def extra_repr(self) -> list[str]:
        """Extra lines of ``repr``."""
        return [f'Split folder: \t{self.split_folder}']
