# Pascal VOC 2012, baseline of imp_pt_trans_simclr_deeplabv3plus_r50_voc12.py: iterative RANDOM
# pruning to the same sparsities (20 % of the surviving backbone conv weights per state, chosen at
# random, seeded), every state restarting from the SimCLR weights, 19 states of the 30k-iteration
# recipe.
#   python tools/train.py configs/segmentation/voc12/imp_random_simclr_deeplabv3plus_r50_voc12.py
# Results: work_dirs/imp_random_simclr_deeplabv3plus_r50_voc12/imp/summary.csv.
_base_ = ['./imp_pt_trans_simclr_deeplabv3plus_r50_voc12.py']

custom_hooks = [{{_base_.random_pruning_hook}}]
