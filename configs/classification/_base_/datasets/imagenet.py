# ImageNet-1k read by MMPretrain's ImageNet (data/imagenet/{train,val}/ and meta/{train,val}.txt).
# torchvision's recipe of the original main_imp_imagenet.py: RandomResizedCrop 224 + flip for
# training, resize 256 + center crop 224 for evaluation, PIL resizing. 8 GPUs x 32 images = the
# paper's batch of 256. There is no separate test set: val and test are the official 50,000
# validation images, as in the original.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py']

val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
