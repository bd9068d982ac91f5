"""Fixture for tests/test_model_mtagn.c: MTAGN (4, 4) against PyTorch, in training mode:
logits, the two cross-entropy losses, L = 0.7 CE1 + 1.3 CE2, every parameter's gradient of L,
the batchnorm buffers after the forward, parameters after one Adam step (lr 1e-3), and
evaluation-mode logits after that step; plus logits and some gradients of the per-task-units
variant.

Size: MTAGN has 41,168 parameters, so its weights, their gradients and their values after
the step would be 3 x 165 KB, above the 200 KB a fixture may take. The starting weights are
therefore not stored but given by an exact integer formula (pattern() below, re-implemented in
the C test, with a few tensors stored to prove the two agree bit for bit); they are uniform
with the spec's Kaiming / Xavier standard deviations, and the batchnorm weights, every bias and
the running statistics are made non-trivial. Gradients are stored in full; the parameters
after the Adam step as a strided sample of at most STEP_SAMPLE values per tensor.

The conv biases directly before a batchnorm have an exactly-zero true gradient: their stored
gradients are rounding noise (compared with an absolute tolerance) and are zeroed before the
Adam step on both sides (see below)."""
import math

import numpy as np
import torch
import torch.nn.functional as F
from fixture import rand, save
from reference import MTAGN

B, L, CLASSES, WEIGHTS, LR = 8, 128, (4, 4), (0.7, 1.3), 1e-3
STEP_SAMPLE = 24
# state_dict entries whose starting values are stored, to check the C formula
STORED_INIT = ("block1.0.conv.weight", "block2.0.bn.weight", "att.1.2.conv.weight", "head.0.bias",
               "unit.0.bn.running_var")


def fnv1a(name):
    h = 2166136261
    for b in name.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def pattern(name, shape):
    """exactly representable values in [-1, 1): a hash of (name, index) with 24 bits kept"""
    i = np.arange(int(np.prod(shape)), dtype=np.uint64)
    x = (np.uint64(fnv1a(name)) + i * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x45D9F3B)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    k = (x >> np.uint64(8)).astype(np.int64) - (1 << 23)
    return (k.astype(np.float32) / np.float32(1 << 23)).reshape(shape)


def start_value(name, shape):
    """the starting value of a state_dict entry (None: keep PyTorch's, i.e. the counters' 0)"""
    if name.endswith("num_batches_tracked"):
        return None
    u = pattern(name, shape)
    if name.endswith("bn.weight") or name.endswith("running_var"):
        return np.float32(1) + u * np.float32(0.25)
    if name.endswith("bias") or name.endswith("running_mean"):
        return u * np.float32(0.125)
    if len(shape) == 3:  # Conv1d [cout, cin, k]: uniform with the Kaiming fan_out std sqrt(2 / (cout k))
        return u * np.float32(math.sqrt(6.0 / (shape[0] * shape[2])))
    if len(shape) == 2:  # Linear [out, in]: uniform with the Xavier std sqrt(2 / (in + out))
        return u * np.float32(math.sqrt(6.0 / (shape[0] + shape[1])))
    raise ValueError(name)


def set_start(net):
    with torch.no_grad():
        for name, v in net.state_dict().items():
            value = start_value(name, tuple(v.shape))
            if value is not None:
                v.copy_(torch.from_numpy(value))


def before_batchnorm(name):
    """conv biases directly before a batchnorm: their true gradient is exactly 0"""
    return name.endswith("conv.bias") and not name.startswith("att.")


def sample(v):
    flat = v.detach().reshape(-1)
    stride = (flat.numel() + STEP_SAMPLE - 1) // STEP_SAMPLE
    return flat[::stride].clone()


torch.manual_seed(0)
x = rand(B, 1, L, seed=1, lo=-2, hi=2)
g = torch.Generator().manual_seed(2)
y = [torch.randint(0, c, (B,), generator=g) for c in CLASSES]
out = {"x": x, "y0": y[0], "y1": y[1]}

net = MTAGN(CLASSES)
set_start(net)
for name in STORED_INIT:
    out["init." + name] = net.state_dict()[name].clone()
net.train()
logits = net(x)
losses = [F.cross_entropy(lg, t) for lg, t in zip(logits, y)]
loss = WEIGHTS[0] * losses[0] + WEIGHTS[1] * losses[1]
for k in range(2):
    out[f"logits{k}"] = logits[k].detach()
    out[f"loss{k}"] = losses[k].detach().reshape(1)
out["loss"] = loss.detach().reshape(1)
loss.backward()
for name, p in net.named_parameters():
    out["grad." + name] = p.grad.clone()
for name, v in net.state_dict().items():
    if "running" in name or "num_batches" in name:
        out["stats." + name] = v.clone()
# Adam turns the rounding noise of an exactly-zero gradient into +-lr steps, differently in
# PyTorch and mtl (docs/engine.md), and in evaluation mode batchnorm no longer cancels those
# biases: both sides zero their gradients before the step (Adam then leaves them unchanged).
for name, p in net.named_parameters():
    if before_batchnorm(name):
        p.grad.zero_()
opt = torch.optim.Adam(net.parameters(), lr=LR)
opt.step()
for name, p in net.named_parameters():
    out["step." + name] = sample(p)
net.eval()
with torch.no_grad():
    for k, lg in enumerate(net(x)):
        out[f"eval_logits{k}"] = lg

# per-task 1x1 units: logits, losses and the gradients of the units and heads
ptu = MTAGN(CLASSES, per_task_units=True)
set_start(ptu)
ptu.train()
logits = ptu(x)
losses = [F.cross_entropy(lg, t) for lg, t in zip(logits, y)]
(WEIGHTS[0] * losses[0] + WEIGHTS[1] * losses[1]).backward()
for k in range(2):
    out[f"ptu.logits{k}"] = logits[k].detach()
for name, p in ptu.named_parameters():
    if (name.startswith("unit.") and not name.endswith("conv.bias")) or name.startswith("head."):
        out["ptu.grad." + name] = sample(p.grad)

save("model_mtagn.safetensors", out, "tests/parity/gen_model_mtagn.py",
     {"batch": B, "length": L, "classes": "4,4", "loss_weights": "0.7,1.3", "adam_lr": LR,
      "step_sample": STEP_SAMPLE})
