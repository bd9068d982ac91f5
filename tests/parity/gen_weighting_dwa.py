"""Fixture for tests/test_train.c: DWA's (and EW's) weights over a run of epochs, computed
independently in float64 from the formula of ../shared/specs/weighting.md:
  w_k = Lbar_k(t-1) / Lbar_k(t-2),  lambda_k(t) = K exp(w_k / T) / sum_i exp(w_i / T),
  lambda = 1 in epochs 0 and 1 (EW: 1 always).
Each case "dwa.<name>" holds history [E, K] (the mean unweighted loss of each epoch, f64),
T [1] and lambda [E, K] (the weights of epochs 0..E-1, f64).
Run: /usr/bin/python3 tests/parity/gen_weighting_dwa.py"""
import numpy as np
from fixture import save


def dwa(history, T):
    E, K = history.shape
    lam = np.ones((E, K))
    for t in range(2, E):
        w = history[t - 1] / history[t - 2]
        e = np.exp(w / T)
        lam[t] = K * e / e.sum()
    return lam


rng = np.random.default_rng(5)
out = {}
cases = {
    "k2_t2": (np.cumprod(rng.uniform(0.6, 1.05, (8, 2)), axis=0) * [2.0, 0.7], 2.0),
    "k3_t2": (np.cumprod(rng.uniform(0.5, 1.1, (10, 3)), axis=0) * [1.5, 0.3, 4.0], 2.0),
    "k5_t05": (np.cumprod(rng.uniform(0.7, 1.2, (6, 5)), axis=0), 0.5),
    "k2_equal": (np.tile([[1.0, 2.0]], (5, 1)) * np.arange(5, 0, -1)[:, None], 2.0),  # equal ratios -> 1
    "k4_t10": (np.cumprod(rng.uniform(0.3, 1.6, (7, 4)), axis=0) * 1e-3, 10.0),
}
for name, (h, T) in cases.items():
    out[f"dwa.{name}.history"] = np.asarray(h, dtype=np.float64)
    out[f"dwa.{name}.T"] = np.array([T])
    out[f"dwa.{name}.lambda"] = dwa(np.asarray(h, dtype=np.float64), T)
save("weighting_dwa.safetensors", out, "gen_weighting_dwa.py", {"cases": ",".join(cases)})
