# Ticket-transfer demo, step 3: fine-tune once on the target task (digits 5-9) from the DENSE
# pre-trained weights of digits 0-4 with a fixed ticket (the paper's transfer: the mask of task A on
# the original pre-trained weights, no further pruning). Set the ticket with
#   --cfg-options custom_hooks.0.ticket=work_dirs/demo_transfer/imp/imp/tickets/round_05.safetensors
# The head is re-initialised (seed 0, the same for every run): its five outputs meant digits 0-4
# and now mean 5-9, so the pre-trained classifier carries nothing over (the paper re-initialises
# fc for a new task). The stem is kept: source and target share the architecture and the input.
_base_ = ['./scratch_digits59_resnet18_w32.py']

load_from = 'work_dirs/demo_transfer/pretrained.pth'
custom_hooks = [
    dict(type='TicketHook', ticket='???', reinit_prefixes=('head.', ), seed=0),
]
