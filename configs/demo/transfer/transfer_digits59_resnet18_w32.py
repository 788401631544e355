# Ticket-transfer demo, step 3: fine-tune once on the target task, digits 5-9 (relabelled 0-4),
# from the DENSE pre-trained weights of digits 0-4 with a fixed ticket (the paper's transfer: the
# mask of task A on the original pre-trained weights, no further pruning). Set the ticket with
#   --cfg-options custom_hooks.0.ticket=work_dirs/demo_transfer/imp/imp/tickets/round_05.safetensors
# (add custom_hooks.0.randomize=True for a random ticket of the same sparsity). The head is
# re-initialised (seed 0, the same for every run): its five outputs meant digits 0-4 and now mean
# 5-9, so the pre-trained classifier carries nothing over (the paper re-initialises fc for a new
# task). The stem is kept: source and target share the architecture and the input. TicketHook
# records the test accuracy at the best-validation epoch in <work_dir>/ticket/summary.json; the
# best checkpoint is kept too (tools/test.py evaluates it under the same ticket).
_base_ = ['../../_base_/digits_resnet18_w32.py']

target_digits = (5, 6, 7, 8, 9)
model = dict(head=dict(num_classes=5))
data_preprocessor = dict(num_classes=5)
train_dataloader = dict(dataset=dict(classes=target_digits))
val_dataloader = dict(dataset=dict(classes=target_digits))
test_dataloader = dict(dataset=dict(classes=target_digits))

load_from = 'work_dirs/demo_transfer/pretrain/epoch_12.pth'
custom_hooks = [
    dict(type='TicketHook', ticket='???', reinit_prefixes=('head.', ), seed=0,
         metric='accuracy/top1'),
]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=-1, save_last=False,
                    save_best='accuracy/top1', rule='greater'))
