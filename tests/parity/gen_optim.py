"""Fixture for tests/test_optim.c: torch.optim's updates on one parameter vector from a
fixed sequence of 5 gradients, for each optimizer setting, and the lr schedules."""
import torch
from fixture import rand, save

N, STEPS = 24, 5
p0 = rand(N, seed=1)
grads = torch.stack([rand(N, seed=10 + s) * (0.1 if s % 2 else 1.0) for s in range(STEPS)])
CASES = {
    "sgd": (torch.optim.SGD, dict(lr=0.1)),
    "sgd_momentum": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    "sgd_nesterov": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)),
    "adam": (torch.optim.Adam, dict(lr=0.01)),
    "adam_l2": (torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    "adam_amsgrad": (torch.optim.Adam, dict(lr=0.01, amsgrad=True)),
    "adamw": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
}
out = {"p0": p0, "grads": grads}
for name, (cls, kw) in CASES.items():
    p = torch.nn.Parameter(p0.clone())
    opt = cls([p], **kw)
    for s in range(STEPS):
        p.grad = grads[s].clone()
        opt.step()
        out[f"{name}.step{s + 1}"] = p.detach().clone()

def lrs(sched_cls, **kw):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.5)
    sched = sched_cls(opt, **kw)
    values = []
    for _ in range(12):
        values.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return torch.tensor(values, dtype=torch.float64)

out["lr.step"] = lrs(torch.optim.lr_scheduler.StepLR, step_size=5, gamma=0.3)
out["lr.exponential"] = lrs(torch.optim.lr_scheduler.ExponentialLR, gamma=0.9)
save("optim.safetensors", out, "tests/parity/gen_optim.py")
