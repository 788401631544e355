# imp_simclr_resnet50_8xb32_in1k.py at the batch of the SimCLR paper: 16 GPUs x 256, as
# MMPretrain's simclr_resnet50_16xb256-coslr-200e_in1k.py, which differs from its 8xb32 config
# only in this batch size and the LARS lr (4.8 there), which the IMP recipe sets anyway (a
# constant 1e-4; 10 epochs a round, 18 rounds, gradients of pruned weights masked).
#   bash tools/dist_train.sh configs/selfsup/simclr/imp_simclr_resnet50_16xb256_in1k.py 16
_base_ = ['./imp_simclr_resnet50_8xb32_in1k.py']

train_dataloader = dict(batch_size=256)
