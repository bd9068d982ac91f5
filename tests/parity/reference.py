"""PyTorch reference modules of mtl's models, with the same state_dict names as
mtl's parameters, so checkpoints and fixtures move between the two."""
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
