# Ticket-transfer demo, step 1: dense "pre-training" on the source task, digits 0-4.
# Its last checkpoint (work_dirs/demo_transfer/pretrain/epoch_12.pth) holds the demo's pre-trained
# weights: the IMP search and every fine-tuning start from it (load_from).
_base_ = ['../../_base_/digits_resnet18_w32.py']

source_digits = (0, 1, 2, 3, 4)
model = dict(head=dict(num_classes=5))
data_preprocessor = dict(num_classes=5)
train_dataloader = dict(dataset=dict(classes=source_digits))
val_dataloader = dict(dataset=dict(classes=source_digits))
test_dataloader = dict(dataset=dict(classes=source_digits))
