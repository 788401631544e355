# Ticket-transfer demo, step 1: dense "pre-training" on the source task, digits 0-4.
# The final weights are the demo's pre-trained weights (tools/demo_transfer.py copies them to
# work_dirs/demo_transfer/pretrained.pth).
_base_ = ['../../_base_/digits_resnet18_w32.py']

source_digits = (0, 1, 2, 3, 4)
model = dict(head=dict(num_classes=5))
data_preprocessor = dict(num_classes=5)
train_dataloader = dict(dataset=dict(classes=source_digits))
val_dataloader = dict(dataset=dict(classes=source_digits))
test_dataloader = dict(dataset=dict(classes=source_digits))
