# Self-supervised demo, step 3: a MoCo ticket (step 2) transferred to digits classification:
# the DENSE MoCo weights of step 1 with the ticket's mask, fine-tuned once on the labelled digits,
# no further pruning (add custom_hooks.0.randomize=True for a random ticket of the same sparsity;
# the round-0 ticket is dense fine-tuning; load_from=None trains from scratch). The classifier
# head is new (MoCo has none); the neck, momentum encoder and queue of the checkpoint are unused.
#   python tools/train.py configs/demo/selfsup/transfer_digits_resnet18_w32.py --cfg-options \
#       custom_hooks.0.ticket=work_dirs/demo_selfsup/imp/imp/tickets/round_04.safetensors
_base_ = ['../../_base_/digits_resnet18_w32.py']

model = dict(backbone=dict(in_channels=3))
data_preprocessor = dict(mean=[127.5] * 3, std=[127.5] * 3)
train_dataloader = dict(dataset=dict(channels=3))
val_dataloader = dict(dataset=dict(channels=3))
test_dataloader = dict(dataset=dict(channels=3))

load_from = 'work_dirs/demo_selfsup/pretrain/epoch_30.pth'
custom_hooks = [dict(type='TicketHook', ticket='???', metric='accuracy/top1')]
