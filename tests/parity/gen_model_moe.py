"""Fixtures (model_moe.safetensors, model_moe_other.safetensors) for tests/test_model_moe.c:
the tabular single-task, Shared-Bottom, OMoE, MMoE, CGC and PLE models
(tests/parity/moe_ref.py) on a small config. For each case "<case>.": the input
x [B, 1, n_ids + n_cont], the targets, all initial parameters (init.<name>), each task's
logits and loss, every task's gate weights of that forward (gate<k>.<stage>), the gradient
of L = 0.7 L_0 + 1.3 L_1 (+ 1.0 L_2) (grad.<name>), then 3 Adam steps (lr 1e-2; the first
from that gradient, each later one a fresh forward/backward on the same batch: the loss
before it, step<s>.loss) and the parameters after them (final.<name>).
A 2-class task has one logit and binary cross-entropy, a C-class task C logits and
cross-entropy. The C test must use the same configs (its case table)."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture import rand, save  # noqa: E402
from moe_ref import build_moe  # noqa: E402
from tabular_ref import Cfg  # noqa: E402

B = 16
WEIGHTS = (0.7, 1.3, 1.0)
SMALL = dict(vocab=(5, 4, 6), n_cont=2, emb_dim=4, units=8, tower=(6, 4))
# name, kind, classes, extra config (the C test's case table repeats these)
CASES = [
    ("mmoe", "mmoe", (2, 2), dict(experts=3)),
    ("mmoe3", "mmoe", (2, 3, 2), dict(experts=3)),
    ("ple", "ple", (2, 2), dict(shared_experts=2, task_experts=2, levels=2)),
    ("ple3", "ple", (3, 2, 2), dict(shared_experts=2, task_experts=1, levels=3)),
    ("cgc", "cgc", (2, 3), dict(shared_experts=2, task_experts=1)),
    ("omoe", "omoe", (2, 2), dict(experts=3)),
    ("sb_hashed", "shared-bottom", (2, 2), dict(hash_buckets=10)),
    ("single", "single", (2, 3), dict()),
]


def loss_of(logits, target, classes):
    if classes == 2:
        return F.binary_cross_entropy_with_logits(logits.reshape(-1), target)
    return F.cross_entropy(logits, target)


def make_case(out, index, name, kind, classes, extra):
    cfg = Cfg(kind, **{**SMALL, **extra})
    torch.manual_seed(100 + index)
    net = build_moe(kind, classes, cfg)
    g = torch.Generator().manual_seed(200 + index)
    hi = [cfg.hash_buckets] * cfg.n_ids if cfg.hash_buckets else cfg.vocab
    # 16 rows from vocabularies of 4..6 (or 10 buckets): ids repeat, so embedding rows gather
    # gradient from several rows
    ids = torch.stack([torch.randint(0, v, (B,), generator=g) for v in hi], dim=1).float()
    x = torch.cat([ids, rand(B, cfg.n_cont, seed=300 + index, lo=-2, hi=2)], dim=1).reshape(B, 1, -1)
    targets = [torch.randint(0, 2, (B,), generator=g).float() if c == 2 else torch.randint(0, c, (B,), generator=g)
               for c in classes]
    p = name + "."
    out[p + "x"] = x
    for k, y in enumerate(targets):
        out[f"{p}y{k}"] = y if classes[k] == 2 else y.int()
    for key, v in net.state_dict().items():
        out[p + "init." + key] = v.clone()
    out[p + "n_params"] = torch.tensor([len(net.state_dict())], dtype=torch.int32)

    def total_loss():
        logits = net(x)
        losses = [loss_of(lg, y, c) for lg, y, c in zip(logits, targets, classes)]
        return logits, losses, sum(w * ls for w, ls in zip(WEIGHTS, losses))

    logits, losses, total = total_loss()
    for k in range(len(classes)):
        out[f"{p}logits{k}"] = logits[k].detach()
        out[f"{p}loss{k}"] = losses[k].detach().reshape(1)
        for s, gw in enumerate(net.gates_seen[k]):
            out[f"{p}gate{k}.{s}"] = gw.detach()
    total.backward()
    for key, prm in net.named_parameters():
        out[p + "grad." + key] = prm.grad.clone()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    opt.step()
    for step in (2, 3):
        opt.zero_grad()
        _, _, total = total_loss()
        out[f"{p}step{step}.loss"] = total.detach().reshape(1)
        total.backward()
        opt.step()
    for key, v in net.state_dict().items():
        out[p + "final." + key] = v.clone()


# two files, each well under 150 KB: the MMoE and PLE cases, then the other kinds
FILES = {"model_moe.safetensors": ("mmoe", "mmoe3", "ple", "ple3"),
         "model_moe_other.safetensors": ("cgc", "omoe", "sb_hashed", "single")}
for file, names in FILES.items():
    out = {}
    for i, case in enumerate(CASES):
        if case[0] in names:
            make_case(out, i, *case)
    save(file, out, "tests/parity/gen_model_moe.py",
         {"batch": B, "loss_weights": "0.7,1.3,1.0", "adam_lr": 0.01, "cases": ",".join(names)})
