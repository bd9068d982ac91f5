"""Fixture for the end-to-end engine test (tests/test_model_tiny.c): the tiny two-task
network, its initial state, one training-mode forward (logits, losses), the gradient
of the summed loss and of each task's loss alone, then 3 Adam steps (loss before each,
final parameters and batchnorm statistics), and evaluation-mode logits at the end."""
import torch
import torch.nn.functional as F
from fixture import rand, save
from reference import TinyNet

torch.manual_seed(0)
B, L, WIDTH, CLASSES = 6, 64, 4, (4, 3)
net = TinyNet(CLASSES, 1, WIDTH)
# perturb batchnorm's affine parameters so they are not the trivial 1 and 0
with torch.no_grad():
    net.bn1.weight.copy_(1 + 0.2 * rand(WIDTH, seed=50))
    net.bn1.bias.copy_(0.1 * rand(WIDTH, seed=51))
x = rand(B, 1, L, seed=1, lo=-2, hi=2)
g = torch.Generator().manual_seed(2)
y = [torch.randint(0, c, (B,), generator=g) for c in CLASSES]
out = {"x": x, "y0": y[0], "y1": y[1]}
for k, v in net.state_dict().items():
    out["init." + k] = v.clone()
params = dict(net.named_parameters())

net.train()
logits = net(x)
losses = [F.cross_entropy(lg, t) for lg, t in zip(logits, y)]
for k in range(2):
    out[f"logits{k}"] = logits[k].detach()
    out[f"loss{k}"] = losses[k].detach().reshape(1)
    grads = torch.autograd.grad(losses[k], list(params.values()), retain_graph=True, allow_unused=True)
    for name, gr in zip(params, grads):
        out[f"task{k}.grad.{name}"] = gr if gr is not None else torch.zeros_like(params[name])
(losses[0] + losses[1]).backward()
for name, p in params.items():
    out["grad." + name] = p.grad.clone()

opt = torch.optim.Adam(net.parameters(), lr=1e-2)
opt.step()  # step 1 from the gradient above
for step in (2, 3):
    opt.zero_grad()
    logits = net(x)
    loss = sum(F.cross_entropy(lg, t) for lg, t in zip(logits, y))
    out[f"step{step}.loss"] = loss.detach().reshape(1)
    loss.backward()
    opt.step()
for k, v in net.state_dict().items():
    out["final." + k] = v.clone()
net.eval()
with torch.no_grad():
    for k, lg in enumerate(net(x)):
        out[f"eval_logits{k}"] = lg
save("model_tiny.safetensors", out, "tests/parity/gen_model_tiny.py",
     {"batch": B, "length": L, "width": WIDTH, "classes": "4,3", "adam_lr": 0.01})
