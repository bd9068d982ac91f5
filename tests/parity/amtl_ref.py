"""PyTorch reference of mtl's tabular AMTL and Co-AMTL (src/models/amtl.c), with the same
parameter names, so that an mtl checkpoint loads with load_state_dict(strict=True).

d = units, E = experts:
  x_d = proj(inp(x)) (Linear, no activation; only when the input dim is not d) or inp(x)
  e_i = ReLU(experts(x_d))_i + x_d                    (residual experts, [N, E, d])
  t_k = ReLU(task_reps.k(x_d)); s_k = softmax_i(e_i . t_k) (/ sqrt(d) if scaled_attention)
  h_k = t_k + sum_i s_k,i e_i
  coamtl: m_k = ReLU(co.k(h_k)); h_k' = h_k + sum_{j != k} (h_j . m_k) h_j (from the pre-update h)
  towers.k read h_k (h_k').
forward returns the logits per task; self.taps holds the last forward's attention
([k][0] = s_k [N, E]; coamtl [k][1] = co-attention scores [N, K-1], j != k in order)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from tabular_ref import Experts, TabInput, towers


class AMTL(nn.Module):
    def __init__(self, classes, c, co=False):
        super().__init__()
        if co and len(classes) < 2:
            raise ValueError("coamtl: co-attention needs at least 2 tasks")
        d = self.d = c.units
        self.inp = TabInput(c)
        self.proj = nn.Linear(self.inp.dim, d) if self.inp.dim != d else None
        self.experts = Experts(c.experts, d, d)
        self.task_reps = nn.ModuleList(nn.Linear(d, d) for _ in classes)
        self.co = nn.ModuleList(nn.Linear(d, d) for _ in classes) if co else None
        self.towers = towers(c, classes, d)
        self.scaled = c.scaled_attention
        self.taps = []

    def forward(self, x):
        xd = self.inp(x)
        if self.proj is not None:
            xd = self.proj(xd)
        e = self.experts(xd) + xd.unsqueeze(1)
        h, self.taps = [], []
        for rep in self.task_reps:
            t = F.relu(rep(xd))
            s = torch.einsum("ned,nd->ne", e, t)
            if self.scaled:
                s = s / math.sqrt(self.d)
            s = F.softmax(s, dim=-1)
            self.taps.append([s])
            h.append(t + torch.einsum("ne,ned->nd", s, e))
        if self.co is not None:
            new = []
            for k, co in enumerate(self.co):
                m = F.relu(co(h[k]))
                others = torch.stack([hj for j, hj in enumerate(h) if j != k], dim=1)  # [N, K-1, d]
                sc = torch.einsum("njd,nd->nj", others, m)
                if self.scaled:
                    sc = sc / math.sqrt(self.d)
                self.taps[k].append(sc)
                new.append(h[k] + torch.einsum("nj,njd->nd", sc, others))
            h = new
        return [tower(hk) for tower, hk in zip(self.towers, h)]


def build_amtl(kind, classes, cfg):
    """kind "amtl" or "coamtl"; classes: per-task class counts; cfg: a tabular_ref.Cfg"""
    if kind not in ("amtl", "coamtl"):
        raise ValueError(f"build_amtl: unknown kind {kind}")
    return AMTL(classes, cfg, co=kind == "coamtl")
