# VisDA-2017: ticket transfer (main_eval_visda.py) on the dense SimCLR
# (checkpoints/simclr_weight.pt) weights (stem included, fc at random init) with a ticket's mask,
# fine-tuned once for 20 epochs, no pruning:
#   bash tools/dist_train.sh configs/classification/visda2017/transfer_simclr_resnet50_visda2017.py 4 \
#       --cfg-options custom_hooks.0.ticket=work_dirs/<imp config>/imp/tickets/round_10.safetensors
# Report accuracy/top1 and single-label/recall (mean class accuracy) of the best checkpoint:
#   python tools/test.py configs/classification/visda2017/transfer_simclr_resnet50_visda2017.py \
#       work_dirs/transfer_simclr_resnet50_visda2017/best_accuracy_top1_epoch_<N>.pth \
#       --cfg-options custom_hooks.0.ticket=<same>
_base_ = ['../_base_/resnet50_visda2017.py', '../_base_/pretrain/simclr_stem.py']

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))

default_hooks = dict(checkpoint=dict(save_best='accuracy/top1', rule='greater'))

custom_hooks = [
    dict(type='TicketHook', ticket='???', key_map='auto', reverse=False),
]
