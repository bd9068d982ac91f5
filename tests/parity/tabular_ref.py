"""PyTorch reference modules of mtl's tabular models (specs/tabular.md), with the same
parameter names as src/models/tabular.c, moe.c and amtl.c, so that an mtl checkpoint
loads with load_state_dict(strict=True).

Input rows x[N, F] (or [N, 1, F]): n_ids integer ids stored as float, then n_cont
continuous values. A two-class task has one logit ([N, 1], sigmoid), a task with C > 2
classes C logits."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Cfg:
    """the sizes of mtl_tab_model_config, with mtl_tab_model_defaults' defaults"""

    def __init__(self, kind, vocab=(), n_cont=0, hash_buckets=0, emb_dim=0, units=0, experts=0,
                 shared_experts=0, task_experts=0, levels=0, tower=None, scaled_attention=False):
        attn = kind in ("amtl", "coamtl")
        self.vocab, self.n_ids, self.n_cont = list(vocab), len(vocab), n_cont
        self.hash_buckets = hash_buckets
        self.emb_dim = emb_dim or (128 if hash_buckets > 0 else 8)
        self.units = units or (128 if attn else 64)
        self.experts = experts or (3 if attn else 8)
        self.shared_experts = shared_experts or 4
        self.task_experts = task_experts or 2
        self.levels = levels or 2
        self.tower = [64, 32] if tower is None else list(tower)
        self.scaled_attention = scaled_attention


class TabInput(nn.Module):
    """per-field embeddings (emb.<i>) concatenated, then the continuous values; hashed:
    one table (emb) whose rows are summed, then the continuous values"""

    def __init__(self, c):
        super().__init__()
        self.n_ids, self.n_cont, self.hashed = c.n_ids, c.n_cont, c.hash_buckets > 0
        if self.hashed:
            self.emb = nn.Embedding(c.hash_buckets, c.emb_dim)
            self.dim = (c.emb_dim if c.n_ids else 0) + c.n_cont
        else:
            self.emb = nn.ModuleList(nn.Embedding(v, c.emb_dim) for v in c.vocab)
            self.dim = c.n_ids * c.emb_dim + c.n_cont

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        ids, cont = x[:, :self.n_ids].long(), x[:, self.n_ids:]
        if self.n_ids == 0:
            return cont
        if self.hashed:
            e = self.emb(ids).sum(dim=1)
        else:
            e = torch.cat([emb(ids[:, i]) for i, emb in enumerate(self.emb)], dim=1)
        return torch.cat([e, cont], dim=1) if self.n_cont else e


class MLP(nn.ModuleList):
    """Linear layers <j>, ReLU after each but (when last_linear) the last"""

    def __init__(self, dims, last_linear):
        super().__init__(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.last_linear = last_linear

    def forward(self, x):
        for j, layer in enumerate(self):
            x = layer(x)
            if not (self.last_linear and j == len(self) - 1):
                x = F.relu(x)
        return x


def towers(c, classes, dim):
    """towers.<k>: the hidden layers then 1 logit (2 classes) or C"""
    return nn.ModuleList(MLP([dim] + c.tower + [1 if n == 2 else n], True) for n in classes)


class Experts(nn.Linear):
    """n experts of one ReLU layer as one Linear(in, n * units), viewed [N, n, units]"""

    def __init__(self, n, dim, units):
        super().__init__(dim, n * units)
        self.n = n

    def forward(self, x):
        return F.relu(super().forward(x)).view(x.shape[0], self.n, -1)


def gate_mix(gate, gate_in, experts):
    """softmax gate (Linear without bias) over stacked experts [N, E, U] -> ([N, U], [N, E])"""
    g = F.softmax(gate(gate_in), dim=-1)
    return torch.einsum("ne,neu->nu", g, experts), g


def build(kind, classes, cfg):
    """the reference module of an mtl tabular model kind (cfg: a Cfg)"""
    if kind in ("amtl", "coamtl"):
        from amtl_ref import build_amtl
        return build_amtl(kind, classes, cfg)
    from moe_ref import build_moe
    return build_moe(kind, classes, cfg)
