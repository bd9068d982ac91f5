#!/usr/bin/python3
"""The cost of a gradient strategy: MTAGN's training step under each weighting strategy
against equal weighting (EW), in mtl and, for EW and PCGrad, in PyTorch.

mtl side: `mtl bench --model mtagn --weighting W --json` times the trainer's own step
(random [B, 1, 2048] windows, two tasks of 4 classes, Adam; a gradient strategy runs one
backward per task on the same tape into the K x D shared-gradient matrix, combines it and
steps), median over 5 epochs of --repeat steps.

PyTorch side (tests/parity/reference.py class MTAGN): EW = one backward of the summed losses;
PCGrad = what LibMTL does for a gradient method: one backward per task (retain_graph), the
shared parameters' gradients collected into a K x D matrix and zeroed between tasks (the
task-specific ones accumulate their own), the projection (K = 2: each row projected off the
other when they conflict), the result written back, Adam step. Medians of --repeat steps.

    /usr/bin/python3 bench/bench_weighting.py [--mtl build/mtl] [--threads 1] [--repeat 10]
        [--weightings ew,pcgrad,...]

overhead = step time under the strategy / step time under EW (same side, same threads);
ratio = torch time / mtl time for the same strategy.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "parity"))
sys.path.insert(0, os.path.join(REPO_ROOT, "bench"))
from reference import MTAGN  # noqa: E402
from bench_ops import find_openblas, set_threads  # noqa: E402

LENGTH, CLASSES, WARMUP = 2048, (4, 4), 3
ALL = "ew,dwa,uw,rlw,gls,famo,gradnorm,mgda,pcgrad,graddrop,cagrad,imtl,gradvac,nash,aligned"


def run_mtl(args, threads, weighting):
    cmd = [args.mtl, "bench", "--model", "mtagn", "--json", "--threads", str(threads), "--batch-size",
           str(args.batch_size), "--repeat", str(args.repeat), "--weighting", weighting]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["train_step_ms_median"]


def time_torch(threads, batch, repeat, pcgrad):
    set_threads(threads, find_openblas())
    torch.manual_seed(0)
    model = MTAGN(CLASSES)
    shared = [p for n, p in model.named_parameters() if n.split(".")[0] in ("block1", "block2", "block3", "unit")]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 1, LENGTH)
    y = [torch.tensor([(i * 7 + k * 3) % c for i in range(batch)]) for k, c in enumerate(CLASSES)]

    def step():
        opt.zero_grad()
        logits = model(x)
        losses = [F.cross_entropy(logits[k], y[k]) for k in range(2)]
        if not pcgrad:
            (losses[0] + losses[1]).backward()
        else:
            rows = []
            for k in range(2):
                losses[k].backward(retain_graph=k == 0)
                rows.append(torch.cat([p.grad.reshape(-1) for p in shared]))
                for p in shared:
                    p.grad = None
            g = torch.stack(rows)
            out = g.clone()
            for k in range(2):
                j = 1 - k
                dot = torch.dot(out[k], g[j])
                if dot < 0:
                    out[k] -= dot / torch.dot(g[j], g[j]) * g[j]
            d = out.sum(0)
            off = 0
            for p in shared:
                p.grad = d[off:off + p.numel()].view_as(p).clone()
                off += p.numel()
        opt.step()

    model.train()
    times = []
    for i in range(WARMUP + repeat):
        t0 = time.perf_counter()
        step()
        if i >= WARMUP:
            times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mtl", default=os.path.join(REPO_ROOT, "build", "mtl"))
    ap.add_argument("--threads", default="1")
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--weightings", default=ALL)
    args = ap.parse_args()
    names = args.weightings.split(",")
    if "ew" not in names:
        names.insert(0, "ew")
    print(f"# MTAGN training step (batch {args.batch_size}, windows of {LENGTH}) per weighting strategy; "
          f"torch {torch.__version__}; medians in ms")
    print(f"{'weighting':<10} {'thr':>3} {'mtl':>9} {'overhead':>8} {'torch':>9} {'overhead':>8} {'ratio':>6}")
    for t in [int(v) for v in args.threads.split(",")]:
        mtl = {w: run_mtl(args, t, w) for w in names}
        torch_ms = {"ew": time_torch(t, args.batch_size, args.repeat, False),
                    "pcgrad": time_torch(t, args.batch_size, args.repeat, True)}
        for w in names:
            line = f"{w:<10} {t:>3} {mtl[w]:>9.2f} {mtl[w] / mtl['ew']:>8.2f}"
            if w in torch_ms:
                tt = torch_ms[w]
                line += f" {tt:>9.2f} {tt / torch_ms['ew']:>8.2f} {tt / mtl[w]:>6.2f}"
            print(line)


if __name__ == "__main__":
    main()
