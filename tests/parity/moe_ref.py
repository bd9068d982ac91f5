"""PyTorch reference modules of mtl's tabular single-task, Shared-Bottom, OMoE, MMoE, CGC
and PLE models (src/models/moe.c), with the same parameter names, so that an mtl
checkpoint loads with load_state_dict(strict=True). Every forward returns the list of
task logits; gate weights of the last forward are kept in .gates_seen (task k, stage s)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from tabular_ref import MLP, Experts, TabInput, gate_mix, towers


class SingleTask(nn.Module):
    """one network per task: inputs.<k> -> bottoms.<k> (Linear dim -> units, ReLU) -> towers.<k>"""

    def __init__(self, classes, c):
        super().__init__()
        self.inputs = nn.ModuleList(TabInput(c) for _ in classes)
        dim = self.inputs[0].dim
        self.bottoms = nn.ModuleList(MLP([dim, c.units], False) for _ in classes)
        self.towers = towers(c, classes, c.units)

    def forward(self, x):
        self.gates_seen = [[] for _ in self.towers]
        return [tw(b(inp(x))) for inp, b, tw in zip(self.inputs, self.bottoms, self.towers)]


class SharedBottom(nn.Module):
    def __init__(self, classes, c):
        super().__init__()
        self.inp = TabInput(c)
        self.bottom = MLP([self.inp.dim, c.units], False)
        self.towers = towers(c, classes, c.units)

    def forward(self, x):
        self.gates_seen = [[] for _ in self.towers]
        h = self.bottom(self.inp(x))
        return [tw(h) for tw in self.towers]


class OMoE(nn.Module):
    """E experts, ONE gate (gate) shared by every task"""

    def __init__(self, classes, c):
        super().__init__()
        self.inp = TabInput(c)
        self.experts = Experts(c.experts, self.inp.dim, c.units)
        self.gate = nn.Linear(self.inp.dim, c.experts, bias=False)
        self.towers = towers(c, classes, c.units)

    def forward(self, x):
        h = self.inp(x)
        mixed, g = gate_mix(self.gate, h, self.experts(h))
        self.gates_seen = [[g] for _ in self.towers]
        return [tw(mixed) for tw in self.towers]


class MMoE(nn.Module):
    """E experts, one gate per task (gates.<k>)"""

    def __init__(self, classes, c):
        super().__init__()
        self.inp = TabInput(c)
        self.experts = Experts(c.experts, self.inp.dim, c.units)
        self.gates = nn.ModuleList(nn.Linear(self.inp.dim, c.experts, bias=False) for _ in classes)
        self.towers = towers(c, classes, c.units)

    def forward(self, x):
        h = self.inp(x)
        e = self.experts(h)
        out, self.gates_seen = [], []
        for gate, tw in zip(self.gates, self.towers):
            mixed, g = gate_mix(gate, h, e)
            self.gates_seen.append([g])
            out.append(tw(mixed))
        return out


class Level(nn.Module):
    """one CGC level: shared_experts, task_experts.<k>, gates.<k> over [own task experts,
    shared experts], and (with_shared_gate) shared_gate over [every task's experts in task
    order, shared experts]. Task k's experts and gate read task_in[k]; the shared experts
    and the shared gate read shared_in."""

    def __init__(self, n_tasks, c, dim, with_shared_gate):
        super().__init__()
        S, T = c.shared_experts, c.task_experts
        self.shared_experts = Experts(S, dim, c.units)
        self.task_experts = nn.ModuleList(Experts(T, dim, c.units) for _ in range(n_tasks))
        self.gates = nn.ModuleList(nn.Linear(dim, T + S, bias=False) for _ in range(n_tasks))
        if with_shared_gate:
            self.shared_gate = nn.Linear(dim, n_tasks * T + S, bias=False)

    def level(self, task_in, shared_in):
        shared = self.shared_experts(shared_in)
        own = [ex(h) for ex, h in zip(self.task_experts, task_in)]
        task_out, weights = [], []
        for k, gate in enumerate(self.gates):
            mixed, g = gate_mix(gate, task_in[k], torch.cat([own[k], shared], dim=1))
            task_out.append(mixed)
            weights.append(g)
        shared_out = None
        if hasattr(self, "shared_gate"):
            shared_out, _ = gate_mix(self.shared_gate, shared_in, torch.cat(own + [shared], dim=1))
        return task_out, shared_out, weights


class CGC(Level):
    """a single CGC level on the input block, then the towers"""

    def __init__(self, classes, c):
        inp = TabInput(c)
        super().__init__(len(classes), c, inp.dim, False)
        self.inp = inp
        self.towers = towers(c, classes, c.units)

    def forward(self, x):
        h = self.inp(x)
        out, _, weights = self.level([h] * len(self.towers), h)
        self.gates_seen = [[g] for g in weights]
        return [tw(o) for tw, o in zip(self.towers, out)]


class PLE(nn.Module):
    """levels.<l> CGC levels; every level but the last has a shared gate feeding the next"""

    def __init__(self, classes, c):
        super().__init__()
        self.inp = TabInput(c)
        K, L = len(classes), c.levels
        self.levels = nn.ModuleList(Level(K, c, self.inp.dim if l == 0 else c.units, l < L - 1) for l in range(L))
        self.towers = towers(c, classes, c.units)

    def forward(self, x):
        h = self.inp(x)
        task_in, shared_in = [h] * len(self.towers), h
        self.gates_seen = [[] for _ in self.towers]
        for lv in self.levels:
            task_in, shared_in, weights = lv.level(task_in, shared_in)
            for k, g in enumerate(weights):
                self.gates_seen[k].append(g)
        return [tw(o) for tw, o in zip(self.towers, task_in)]


KINDS = {"single": SingleTask, "shared-bottom": SharedBottom, "omoe": OMoE, "mmoe": MMoE, "cgc": CGC, "ple": PLE}


def build_moe(kind, classes, cfg):
    """the reference module of kind (a key of KINDS) for tasks with these class counts"""
    if kind not in KINDS:
        raise ValueError(f"unknown tabular model kind {kind!r}")
    return KINDS[kind](tuple(classes), cfg)
