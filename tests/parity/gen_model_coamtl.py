"""Fixture for tests/test_model_amtl.c: tabular Co-AMTL (K = 2; K = 3 with a 3-class task
and hashed input) and AMTL with scaled attention (hashed input + continuous values, so a
projection), reference tests/parity/amtl_ref.py. Per case "<case>.": the input, targets,
all initial parameters, each task's logits, loss and attention taps, the gradient of
L = 0.7 L_0 + 1.3 L_1 (+ 1.0 L_2), then 3 Adam steps (lr 1e-2; step 1 from that gradient,
steps 2 and 3 each a fresh forward/backward on the same batch): L before steps 2 and 3 and
the final parameters."""
import torch
import torch.nn.functional as F
from amtl_ref import build_amtl
from fixture import rand, save
from tabular_ref import Cfg

B = 16
WEIGHTS = (0.7, 1.3, 1.0)
# name: (kind, classes, Cfg arguments); keep in step with the configs in tests/test_model_amtl.c.
# Hashed cases: vocab only gives the number of id fields.
CASES = {
    "k2": ("coamtl", (2, 2), dict(vocab=(5, 4, 6), n_cont=2, emb_dim=4, units=8, experts=3, tower=[6, 4])),
    "k3": ("coamtl", (2, 3, 2), dict(vocab=(0, 0, 0), hash_buckets=10, emb_dim=8, units=8, experts=3,
                                     tower=[6, 4])),
    "amtl": ("amtl", (2, 4), dict(vocab=(0, 0, 0, 0), n_cont=2, hash_buckets=10, emb_dim=4, units=8, experts=4,
                                  tower=[5], scaled_attention=True)),
}


def losses_of(logits, y, classes):
    return [F.binary_cross_entropy_with_logits(lg, t.float().reshape(-1, 1)) if n == 2 else F.cross_entropy(lg, t)
            for lg, t, n in zip(logits, y, classes)]


def case(out, p, kind, classes, args, seed):
    torch.manual_seed(seed)
    c = Cfg(kind, **args)
    net = build_amtl(kind, classes, c)
    g = torch.Generator().manual_seed(seed + 1)
    hi = [c.hash_buckets] * c.n_ids if c.hash_buckets else c.vocab
    ids = torch.stack([torch.randint(0, v, (B,), generator=g) for v in hi], dim=1).float()
    x = torch.cat([ids, rand(B, c.n_cont, seed=seed + 2, lo=-2, hi=2)], dim=1).reshape(B, 1, -1)
    y = [torch.randint(0, n, (B,), generator=g) for n in classes]
    out[p + "x"] = x
    for k, t in enumerate(y):
        out[f"{p}y{k}"] = t
    state = net.state_dict()
    for name, v in state.items():
        out[p + "init." + name] = v.clone()
    params = dict(net.named_parameters())

    logits = net(x)
    losses = losses_of(logits, y, classes)
    for k in range(len(classes)):
        out[f"{p}logits{k}"] = logits[k].detach()
        out[f"{p}loss{k}"] = losses[k].detach().reshape(1)
        for s, a in enumerate(net.taps[k]):
            out[f"{p}att{k}.{s}"] = a.detach()
    sum(w * l for w, l in zip(WEIGHTS, losses)).backward()
    for name, par in params.items():
        out[p + "grad." + name] = par.grad.clone()

    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    opt.step()
    for step in (2, 3):
        opt.zero_grad()
        loss = sum(w * l for w, l in zip(WEIGHTS, losses_of(net(x), y, classes)))
        out[f"{p}step{step}.loss"] = loss.detach().reshape(1)
        loss.backward()
        opt.step()
    for name, v in net.state_dict().items():
        out[p + "final." + name] = v.clone()


out = {}
for i, (name, (kind, classes, args)) in enumerate(CASES.items()):
    case(out, name + ".", kind, classes, args, seed=10 * (i + 1))
save("model_coamtl.safetensors", out, "tests/parity/gen_model_coamtl.py",
     {"batch": B, "cases": ",".join(CASES), "loss_weights": "0.7,1.3,1.0", "adam_lr": 0.01})
