# One state (round) of the paper's VisDA-2017 experiments: torchvision's ResNet-50 with a 12-way
# classifier, synthetic train/ -> real validation/, 20 epochs (4 GPUs x 64).
_base_ = [
    './models/resnet50.py', './datasets/visda2017.py', './schedules/visda_bs256_20e.py',
    './default_runtime.py'
]

model = dict(head=dict(num_classes=12, topk=(1, )))
