# Ticket-transfer demo, reference: dense training from the random initialisation on the target
# task, digits 5-9 (relabelled 0-4). Keeps the best-validation checkpoint so that the demo can
# report the test accuracy at the best-validation epoch (tools/test.py on it).
_base_ = ['../../_base_/digits_resnet18_w32.py']

target_digits = (5, 6, 7, 8, 9)
model = dict(head=dict(num_classes=5))
data_preprocessor = dict(num_classes=5)
train_dataloader = dict(dataset=dict(classes=target_digits))
val_dataloader = dict(dataset=dict(classes=target_digits))
test_dataloader = dict(dataset=dict(classes=target_digits))

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=-1, save_last=False,
                    save_best='accuracy/top1', rule='greater'))
