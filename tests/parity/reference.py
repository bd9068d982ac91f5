"""PyTorch reference modules of mtl's models, with the same state_dict names as
mtl's parameters, so checkpoints and fixtures move between the two."""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


class ECA(nn.Module):
    """Residual ECA channel attention: x * (1 + sigmoid(conv_k(mean_L(x)))), the
    1->1 convolution running across channels."""

    def __init__(self, k=3):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2)

    def forward(self, x):
        a = torch.sigmoid(self.conv(x.mean(2).unsqueeze(1))).squeeze(1)
        self.last_attention = 1 + a
        return x * (1 + a).unsqueeze(2)


class TinyNet(nn.Module):
    """src/models/tiny.c"""

    def __init__(self, classes=(4, 3), in_channels=1, width=8):
        super().__init__()
        self.conv1 = nn.Conv1d(in_channels, width, 7, padding=3, bias=False)  # batchnorm follows
        self.bn1 = nn.BatchNorm1d(width)
        self.conv2 = nn.Conv1d(width, 2 * width, 3, padding=1)
        self.eca = nn.ModuleList([ECA(3) for _ in classes])
        self.head = nn.ModuleList([nn.Linear(2 * width, c) for c in classes])

    def forward(self, x):
        p = F.max_pool1d(F.relu(self.bn1(self.conv1(x))), 4, 4)
        return [head(F.relu(self.conv2(eca(p))).mean(2)) for eca, head in zip(self.eca, self.head)]


def unit(cin, cout, k):
    """MTAGN's unit: Conv1d(k, pad k//2, bias) -> BatchNorm1d -> ReLU (state_dict: conv.*, bn.*)."""
    return nn.Sequential(OrderedDict(conv=nn.Conv1d(cin, cout, k, padding=k // 2),
                                     bn=nn.BatchNorm1d(cout), relu=nn.ReLU()))


def mtagn_init(module):
    """The MTAGN initialisation: Conv1d Kaiming-normal fan_out/ReLU, bias 0; BatchNorm 1, 0;
    Linear Xavier-normal, bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv1d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            nn.init.zeros_(m.bias)


class MTAGN(nn.Module):
    """src/models/mtagn.c (../shared/specs/mtagn.md). state_dict names:
    block{1,2,3}.{0,1}.{conv,bn}.*  the shared trunk (g_j = block j's output, before pooling)
    att.{task}.{stage}.conv.*       the per-task residual ECA modules
    unit.{stage}.{conv,bn}.*        the 1x1 units C1..C3, shared by the tasks (default), or
    unit.{task}.{stage}.{conv,bn}.* per-task copies (per_task_units=True)
    head.{task}.*                   Linear(128, classes)"""

    def __init__(self, classes=(4, 4), in_channels=1, per_task_units=False):
        super().__init__()
        self.classes = tuple(classes)
        self.per_task_units = per_task_units
        self.block1 = nn.Sequential(unit(in_channels, 16, 7), unit(16, 16, 7))
        self.block2 = nn.Sequential(unit(16, 32, 5), unit(32, 32, 5))
        self.block3 = nn.Sequential(unit(32, 64, 3), unit(64, 64, 3))
        self.att = nn.ModuleList([nn.ModuleList([ECA(3) for _ in range(3)]) for _ in classes])

        def units():
            return nn.ModuleList([unit(16, 32, 1), unit(32, 64, 1), unit(64, 128, 1)])
        self.unit = nn.ModuleList([units() for _ in classes]) if per_task_units else units()
        self.head = nn.ModuleList([nn.Linear(128, c) for c in classes])
        mtagn_init(self)

    def features(self, x):
        """per task: the [B,128] features before the head"""
        g1 = self.block1(x)
        g2 = self.block2(F.max_pool1d(g1, 4, 4))
        g3 = self.block3(F.max_pool1d(g2, 4, 4))
        out = []
        for i in range(len(self.classes)):
            u = self.unit[i] if self.per_task_units else self.unit
            p1 = F.max_pool1d(u[0](self.att[i][0](g1)), 4, 4)
            p2 = F.max_pool1d(u[1](self.att[i][1](g2 + p1)), 4, 4)
            p3 = F.max_pool1d(u[2](self.att[i][2](g3 + p2)), 2, 2)
            out.append(p3.mean(2))
        return out

    def forward(self, x):
        return [head(f) for head, f in zip(self.head, self.features(x))]


class STAN(nn.Module):
    """src/models/mtagn.c, kind "stan": single-task attention networks, one complete MTAGN
    with one branch per task and nothing shared. state_dict: net.{task}.<MTAGN names, task 0>."""

    def __init__(self, classes=(4, 4), in_channels=1, per_task_units=False):
        super().__init__()
        self.net = nn.ModuleList([MTAGN((c,), in_channels, per_task_units) for c in classes])

    def features(self, x):
        return [net.features(x)[0] for net in self.net]

    def forward(self, x):
        return [net(x)[0] for net in self.net]


# ---- baselines of the MTAGN repository (../shared/specs/mtagn.md, "Baselines"); PyTorch's
# default initialisation, as in the original.

def cbr(cin, cout, k, stride, pad):
    """Conv1d -> BatchNorm1d -> ReLU (state_dict: conv.*, bn.*)."""
    return nn.Sequential(OrderedDict(conv=nn.Conv1d(cin, cout, k, stride, pad),
                                     bn=nn.BatchNorm1d(cout), relu=nn.ReLU()))


class MT1DCNN(nn.Module):
    """src/models/cnn1d.c, kind "mt1dcnn" (hard parameter sharing). state_dict:
    trunk.{0..4}.{conv,bn}.*  shared: [B,cin,L] -> [B,32,L/32]
    branch.{task}.{0,1}.{conv,bn}.*  per task, then the mean over length ([B,64] = features)
    head.{task}.*  Linear(64, classes)"""

    def __init__(self, classes=(4, 4), in_channels=1):
        super().__init__()
        self.trunk = nn.Sequential(cbr(in_channels, 16, 12, 2, 5), cbr(16, 16, 12, 2, 5), cbr(16, 24, 9, 2, 4),
                                   cbr(24, 24, 9, 2, 4), cbr(24, 32, 6, 2, 2))
        self.branch = nn.ModuleList([nn.Sequential(cbr(32, 32, 6, 2, 2), cbr(32, 64, 3, 2, 1)) for _ in classes])
        self.head = nn.ModuleList([nn.Linear(64, c) for c in classes])

    def features(self, x):
        z = self.trunk(x)
        return [b(z).mean(2) for b in self.branch]

    def forward(self, x):
        return [head(f) for head, f in zip(self.head, self.features(x))]


class JLCNN(nn.Module):
    """src/models/cnn1d.c, kind "jlcnn". state_dict:
    encoder.{0..5}.{conv,bn}.*  shared: 6 x [Conv k3 p1 - BN - ReLU - MaxPool 2] -> [B,16,L/64]
    fc.{task}.*    Linear(16 * (L/64), 128) on the flattened encoding, then ReLU (= features)
    head.{task}.*  Linear(128, classes)"""

    def __init__(self, classes=(4, 4), in_channels=1, length=2048):
        super().__init__()
        chans = [in_channels, 8, 16, 16, 16, 16, 16]
        self.encoder = nn.Sequential(*[cbr(chans[i], chans[i + 1], 3, 1, 1) for i in range(6)])
        flat = 16 * (length // 64)
        self.fc = nn.ModuleList([nn.Linear(flat, 128) for _ in classes])
        self.head = nn.ModuleList([nn.Linear(128, c) for c in classes])

    def features(self, x):
        z = x
        for block in self.encoder:
            z = F.max_pool1d(block(z), 2, 2)
        z = z.flatten(1)
        return [F.relu(fc(z)) for fc in self.fc]

    def forward(self, x):
        return [head(f) for head, f in zip(self.head, self.features(x))]


def wdcnn_length(length):
    """length of WDCNN's last feature map for an input of `length` samples (3 for 2048)"""
    n = (length + 2 * 24 - 64) // 16 + 1
    for pad in (1, 1, 1, 0):
        n = (n // 2 + 2 * pad - 3) + 1
    return n // 2


class WDCNN(nn.Module):
    """One single-task WDCNN (Zhang et al. 2017): state_dict
    block.{0..4}.{conv,bn}.*  Conv - MaxPool 2 - ReLU - BN (BN after the ReLU, as in the original)
    fc.*    Linear(64 * n, 100) on the flattened [B,64,n] (n = 3 for L = 2048; its output = features)
    head.*  Linear(100, classes)"""

    def __init__(self, classes=4, in_channels=1, length=2048):
        super().__init__()
        convs = [(in_channels, 16, 64, 16, 24), (16, 32, 3, 1, 1), (32, 64, 3, 1, 1), (64, 64, 3, 1, 1),
                 (64, 64, 3, 1, 0)]
        self.block = nn.ModuleList([nn.ModuleDict(dict(conv=nn.Conv1d(*c), bn=nn.BatchNorm1d(c[1])))
                                    for c in convs])
        self.fc = nn.Linear(64 * wdcnn_length(length), 100)
        self.head = nn.Linear(100, classes)

    def features(self, x):
        for b in self.block:
            x = b["bn"](F.relu(F.max_pool1d(b["conv"](x), 2, 2)))
        return self.fc(x.flatten(1))

    def forward(self, x):
        return self.head(self.features(x))


class WDCNNs(nn.Module):
    """src/models/cnn1d.c, kind "wdcnn": one independent WDCNN per task (net.{task}.*)."""

    def __init__(self, classes=(4, 4), in_channels=1, length=2048):
        super().__init__()
        self.net = nn.ModuleList([WDCNN(c, in_channels, length) for c in classes])

    def features(self, x):
        return [net.features(x) for net in self.net]

    def forward(self, x):
        return [net(x) for net in self.net]


def build(kind, classes, in_channels=1, length=2048, per_task_units=False):
    """the reference module of an mtl model kind"""
    if kind == "mtagn":
        return MTAGN(classes, in_channels, per_task_units)
    if kind == "stan":
        return STAN(classes, in_channels, per_task_units)
    if kind == "mt1dcnn":
        return MT1DCNN(classes, in_channels)
    if kind == "jlcnn":
        return JLCNN(classes, in_channels, length)
    if kind == "wdcnn":
        return WDCNNs(classes, in_channels, length)
    raise ValueError(f"unknown model kind {kind!r}")
