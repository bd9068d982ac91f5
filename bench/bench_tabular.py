#!/usr/bin/python3
"""Tabular models: a training epoch and single-row scoring, mtl against the PyTorch reference.

Identical work on both sides: the model (tests/parity/tabular_ref.py; src/models/) with the
default sizes, two binary tasks, random rows of census-income's shape (31 nominal fields
with the vocabulary sizes of its .names file + 1, embedded, and 7 continuous values):

  training epoch: ROWS rows (199,523 = the training file) in batches of B (1024): zero_grad,
                  forward (training mode), BCE(task 1) + BCE(task 2), backward, Adam (lr 1e-3)
                  step; one warm-up epoch, then the median of R epochs;
  scoring one row: evaluation mode, no gradients (torch.no_grad / a non-recording tape),
                  median of N calls.

T threads: mtl --threads T; torch.set_num_threads(T) and openblas_set_num_threads(T).

    /usr/bin/python3 bench/bench_tabular.py [--mtl build/mtl] [--models mmoe,coamtl] [--threads 1]
                                            [--rows 199523] [--batch-size 1024] [--repeat 3]
                                            [--infer-repeat 2000] [--json-out FILE]

ratio = torch time / mtl time (> 1: mtl is faster). Targets (the issue): epoch >= 2x at 1
thread, scoring one row >= 10x.
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
from tabular_ref import Cfg, build  # noqa: E402
from bench_ops import find_openblas, set_threads  # noqa: E402

# the same as census_vocab in cli/bench.c
VOCAB = [10, 53, 48, 4, 25, 16, 6, 11, 3, 4, 7, 9, 7, 7, 52, 39, 9, 11, 10, 11, 4, 5, 6, 44, 44, 44, 6, 4, 4, 4, 3]
N_CONT = 7


def run_mtl(args, model, threads):
    cmd = [args.mtl, "bench", "--model", model, "--json", "--threads", str(threads), "--rows", str(args.rows),
           "--batch-size", str(args.batch_size), "--repeat", str(args.repeat), "--infer-repeat", str(args.infer_repeat)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def time_torch(args, model, threads):
    set_threads(threads, find_openblas())
    torch.manual_seed(0)
    net = build(model, (2, 2), Cfg(model, vocab=VOCAB, n_cont=N_CONT))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(7)
    ids = torch.stack([torch.randint(0, v - 1, (args.rows,), generator=g) for v in VOCAB], dim=1).float()
    x = torch.cat([ids, torch.randn(args.rows, N_CONT, generator=g)], dim=1)
    y = [(torch.rand(args.rows, generator=g) < p).float().unsqueeze(1) for p in (0.06, 0.43)]
    times = []
    net.train()
    for e in range(1 + args.repeat):
        t0 = time.perf_counter()
        for start in range(0, args.rows, args.batch_size):
            xb = x[start:start + args.batch_size]
            opt.zero_grad()
            out = net(xb)
            loss = sum(F.binary_cross_entropy_with_logits(o, t[start:start + args.batch_size]) for o, t in zip(out, y))
            loss.backward()
            opt.step()
        if e > 0:
            times.append(1e3 * (time.perf_counter() - t0))
    net.eval()
    lat = []
    with torch.no_grad():
        for i in range(3 + args.infer_repeat):
            t0 = time.perf_counter()
            net(x[i % args.rows:i % args.rows + 1])
            if i >= 3:
                lat.append(1e3 * (time.perf_counter() - t0))
    return {"train_epoch_ms_median": statistics.median(times), "infer_row_ms_median": statistics.median(lat),
            "parameters": sum(p.numel() for p in net.parameters())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtl", default=os.path.join(REPO_ROOT, "build", "mtl"))
    ap.add_argument("--models", default="mmoe,coamtl")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--rows", type=int, default=199523)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--infer-repeat", type=int, default=2000)
    ap.add_argument("--json-out")
    args = ap.parse_args()
    rows = []
    for model in args.models.split(","):
        for t in (int(v) for v in args.threads.split(",")):
            m = run_mtl(args, model, t)
            p = time_torch(args, model, t)
            if m["parameters"] != p["parameters"]:
                sys.exit(f"{model}: mtl has {m['parameters']} parameters, PyTorch {p['parameters']}: not the same model")
            rows.append({"model": model, "threads": t, "parameters": m["parameters"],
                         "mtl_epoch_ms": m["train_epoch_ms_median"], "torch_epoch_ms": p["train_epoch_ms_median"],
                         "mtl_row_ms": m["infer_row_ms_median"], "torch_row_ms": p["infer_row_ms_median"]})
    print(f"PyTorch {torch.__version__}; {args.rows} rows, batch {args.batch_size}; epoch: median of {args.repeat} "
          f"after one warm-up; one row: median of {args.infer_repeat}\n")
    print(f"{'model':<14}{'threads':>8}{'params':>9}{'mtl epoch':>12}{'torch epoch':>13}{'ratio':>8}"
          f"{'mtl row':>11}{'torch row':>11}{'ratio':>8}")
    for r in rows:
        r["epoch_ratio"] = r["torch_epoch_ms"] / r["mtl_epoch_ms"]
        r["row_ratio"] = r["torch_row_ms"] / r["mtl_row_ms"]
        print(f"{r['model']:<14}{r['threads']:>8}{r['parameters']:>9}{r['mtl_epoch_ms'] / 1e3:>11.2f}s"
              f"{r['torch_epoch_ms'] / 1e3:>12.2f}s{r['epoch_ratio']:>7.2f}x{r['mtl_row_ms'] * 1e3:>9.1f}us"
              f"{r['torch_row_ms'] * 1e3:>9.1f}us{r['row_ratio']:>7.1f}x")
    ok_epoch = all(r["epoch_ratio"] >= 2 for r in rows if r["threads"] == 1)
    ok_row = all(r["row_ratio"] >= 10 for r in rows)
    print(f"\ntargets: epoch >= 2x at 1 thread: {'met' if ok_epoch else 'NOT met'}; "
          f"one row >= 10x: {'met' if ok_row else 'NOT met'}")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
