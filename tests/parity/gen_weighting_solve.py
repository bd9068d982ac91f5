"""Fixture for tests/test_weighting_solve.c: the small solvers (min-norm point, symmetric eigen,
linear solve) and the solver-based gradient strategies (mgda, cagrad, imtl, nash, aligned),
computed independently of the C code in NumPy float64 (and torch.optim.LBFGS for nash):

- min-norm: enumeration of the simplex's faces (least-squares KKT system on each face, kept when
  it is feasible and certified optimal by min_k (M x)_k >= x^T M x); K = 2: the spec's closed form.
- cagrad: golden-section search (K = 2) / nested golden-section search (K = 3) on F(w) over the
  simplex; K = 5: enumeration of the active sets of the primal max_d min_k g_k . d over the ball
  |d - g0| <= c |g0| (KKT: a quadratic in the multiplier on each face); both agree on K = 3.
- imtl: the spec's formula with explicit D, U matrices and numpy.linalg.inv (pinv when singular);
  the lg loss scales with Adam written out from torch.optim.Adam's formulas.
- nash: L-BFGS (torch, float64) on log a, then coordinate descent with exact 1-D minimisation.
- aligned: numpy.linalg.eigh.
The degenerate rules are the ones documented in src/weighting/*.c.
Run: /usr/bin/python3 tests/parity/gen_weighting_solve.py"""
import itertools

import numpy as np
import torch
from fixture import save

rng = np.random.default_rng(20240611)
out = {}
F32EPS = float(np.finfo(np.float32).eps)


def f32(a):
    return np.asarray(a, dtype=np.float32)


# ---------------------------------------------------------------- min-norm (faces enumeration)
def minnorm_ref(M):
    K = M.shape[0]
    s = max(np.diag(M))
    if not s > 0:
        return np.full(K, 1.0 / K)
    if K == 1:
        return np.ones(1)
    if K == 2:
        den = M[0, 0] - 2 * M[0, 1] + M[1, 1]
        t = 0.5 if den <= 0 else min(max((M[1, 1] - M[0, 1]) / den, 0.0), 1.0)
        return np.array([t, 1 - t])
    best = None
    for r in range(1, K + 1):
        for S in itertools.combinations(range(K), r):
            S = list(S)
            A = np.zeros((r + 1, r + 1))
            A[:r, :r] = M[np.ix_(S, S)]
            A[:r, r] = 1
            A[r, :r] = 1
            rhs = np.zeros(r + 1)
            rhs[r] = 1
            xs = np.linalg.lstsq(A, rhs, rcond=None)[0][:r]
            if (xs < -1e-12).any() or abs(xs.sum() - 1) > 1e-9:
                continue
            x = np.zeros(K)
            x[S] = np.maximum(xs, 0)
            x /= x.sum()
            g = M @ x
            if g.min() >= x @ g - 1e-12 * s and (best is None or x @ g < best[0] - 1e-15 * s):
                best = (x @ g, x)
    return best[1]


def groups_of(G):
    """equal ids for identical rows"""
    K = G.shape[0]
    ids = list(range(K))
    for i in range(K):
        for j in range(i):
            if np.array_equal(G[i], G[j]):
                ids[i] = ids[j]
                break
    return np.array(ids, dtype=np.int32)


# ---------------------------------------------------------------- solvers
mn = {}
G = rng.normal(size=(2, 6))
mn["k2"] = G
g = rng.normal(size=6)
mn["k2_ident"] = np.stack([g, g])
mn["k3"] = rng.normal(size=(3, 7)) * np.array([[0.5], [1.0], [2.0]])
h = rng.normal(size=6)
perp = h - (h @ g) / (g @ g) * g
mn["k3_vertex"] = np.stack([g, 1.5 * g + perp, 2 * g - perp])  # vertex 0 is optimal
mn["k3_origin"] = np.stack([g, -g, h])  # 0 in the hull: x = (1/2, 1/2, 0)
mn["k5"] = rng.normal(size=(5, 11)) * np.exp(rng.normal(size=(5, 1)))
mn["k8"] = rng.normal(size=(8, 12)) * np.exp(0.5 * rng.normal(size=(8, 1)))
mn["k8_rank4"] = rng.normal(size=(8, 4)) + 1.5  # rank-deficient M, hull away from 0
mn["k4_dup"] = np.stack([g, h, g, 0.3 * g + 0.7 * h + 0.2])
mn["k3_zero"] = np.zeros((3, 5))
NONUNIQUE_MN = {"k4_dup", "k8_rank4"}
for name, Gm in mn.items():
    M = Gm @ Gm.T
    x = minnorm_ref(M)
    out[f"mn.{name}.M"] = M
    out[f"mn.{name}.x"] = x
    out[f"mn.{name}.v"] = np.array([x @ M @ x])
    out[f"mn.{name}.unique"] = np.array([0 if name in NONUNIQUE_MN else 1], dtype=np.int32)


def eig_ref(A):
    e, V = np.linalg.eigh(A)
    for j in range(V.shape[1]):  # the sign convention of solvers.c
        big = np.abs(V[:, j]).max()
        first = next(k for k in range(V.shape[0]) if abs(V[k, j]) >= big * (1 - 1e-9))
        if V[first, j] < 0:
            V[:, j] = -V[:, j]
    return e, V


eig = {"k1": np.array([[2.5]]), "k3_zero": np.zeros((3, 3))}
S = rng.normal(size=(2, 2))
eig["k2"] = S + S.T
Gm = rng.normal(size=(3, 5))
eig["k3_psd"] = Gm @ Gm.T
S = rng.normal(size=(5, 5))
eig["k5_indef"] = S + S.T
S = rng.normal(size=(8, 8))
eig["k8"] = S @ S.T - 4 * np.eye(8)
Q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
eig["k4_repeated"] = Q @ np.diag([1.0, 1.0, 2.0, 3.0]) @ Q.T  # eigenvectors of 1 not unique
for name, A in eig.items():
    e, V = eig_ref(A)
    out[f"eig.{name}.A"] = A
    out[f"eig.{name}.e"] = e
    out[f"eig.{name}.V"] = V

lin = {}
A = rng.normal(size=(3, 3))
lin["k3"] = (A, rng.normal(size=3))
A = rng.normal(size=(8, 8)) + 3 * np.eye(8)
lin["k8"] = (A, rng.normal(size=8))
lin["k2_pivot"] = (np.array([[1e-14, 1.0], [1.0, 1.0]]), np.array([1.0, 2.0]))  # needs the row swap
for name, (A, b) in lin.items():
    out[f"lin.{name}.A"] = A
    out[f"lin.{name}.b"] = b
    out[f"lin.{name}.x"] = np.linalg.solve(A, b)
A = rng.normal(size=(4, 4))
A[3] = A[0] - 2 * A[1]
out["lin.singular.A"] = A
out["lin.singular.b"] = rng.normal(size=4)

# ---------------------------------------------------------------- strategy cases
D = 7
cases = {}
g, h, q = (rng.normal(size=D) for _ in range(3))
cases["k1"] = np.stack([g])
a2 = rng.normal(size=D)
cases["k2"] = np.stack([1.5 * a2, -0.4 * a2 + rng.normal(size=D)])  # conflicting, unequal norms
cases["k3"] = rng.normal(size=(3, D)) * np.array([[0.5], [1.0], [2.0]])
cases["k5"] = rng.normal(size=(5, 11)) * np.exp(0.5 * rng.normal(size=(5, 1)))
cases["ident2"] = np.stack([g, g])
cases["ident3"] = np.stack([g, g, h])
cases["opp2"] = np.stack([g, -g])
cases["opp3"] = np.stack([g, -g, h])
cases["zero2"] = np.stack([g, np.zeros(D)])
cases["zero3"] = np.stack([g, np.zeros(D), q])
cases["allzero"] = np.zeros((3, D))
cases = {k: f32(v) for k, v in cases.items()}
losses = {k: f32(rng.uniform(0.3, 2.0, size=v.shape[0])) for k, v in cases.items()}
for k in cases:
    out[f"case.{k}.G"] = cases[k]
    out[f"case.{k}.losses"] = losses[k]


def store(prefix, d, alpha, groups=None):
    out[f"{prefix}.d"] = np.asarray(d, dtype=np.float64)
    out[f"{prefix}.alpha"] = np.asarray(alpha, dtype=np.float64)
    if groups is not None:
        out[f"{prefix}.groups"] = groups


# ---- mgda
def mgda_ref(G32, L, norm):
    G = G32.astype(np.float64)
    M = G @ G.T
    nrm = np.sqrt(np.diag(M))
    n = {"none": np.ones(len(L)), "l2": nrm, "loss": L.astype(np.float64), "loss+": L * nrm}[norm]
    n = np.where(n > 0, n, 1.0)
    x = minnorm_ref(M / np.outer(n, n))
    return x @ G, x


for norm in ["none", "l2", "loss", "loss+"]:
    for c, G32 in cases.items():
        d, x = mgda_ref(G32, losses[c], norm)
        grp = groups_of(G32) if c == "ident3" else None  # K = 2: the 1/2 rule is exact
        store(f"mgda.{norm}.{c}", d, x, grp)


# ---- cagrad
def F_cag(w, G, g0, cp):
    gw = w @ G
    return gw @ g0 + cp * np.linalg.norm(gw)


def golden(f, a, b, n=160):
    r = (np.sqrt(5) - 1) / 2
    x1, x2 = b - r * (b - a), a + r * (b - a)
    f1, f2 = f(x1), f(x2)
    for _ in range(n):
        if f1 < f2:
            b, x2, f2 = x2, x1, f1
            x1 = b - r * (b - a)
            f1 = f(x1)
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + r * (b - a)
            f2 = f(x2)
    return (a + b) / 2


def cag_golden(G, g0, cp):
    K = G.shape[0]
    if K == 1:
        return np.ones(1)
    if K == 2:
        t = golden(lambda t: F_cag(np.array([t, 1 - t]), G, g0, cp), 0, 1)
        return np.array([t, 1 - t])
    assert K == 3

    def w3(t, u):
        return np.array([t, u * (1 - t), (1 - u) * (1 - t)])

    def inner(t):
        u = golden(lambda u: F_cag(w3(t, u), G, g0, cp), 0, 1, 120)
        return u, F_cag(w3(t, u), G, g0, cp)

    t = golden(lambda t: inner(t)[1], 0, 1, 120)
    return w3(t, inner(t)[0])


def cag_faces(G, g0, cp):
    """max_d min_k g_k.d on |d - g0| <= cp: on an active set S, G_S d = mu 1 with
    d = g0 + G_S^T v, v >= 0, |G_S^T v| = cp; returns w = v / sum v"""
    K = G.shape[0]
    M = G @ G.T
    b = G @ g0
    best = None
    for r in range(1, K + 1):
        for S in itertools.combinations(range(K), r):
            S = list(S)
            MS = M[np.ix_(S, S)]
            if np.linalg.cond(MS) > 1e10:
                continue
            P = np.linalg.inv(MS)
            one, bS = np.ones(r), b[S]
            qa, qb, qc = one @ P @ one, -2 * one @ P @ bS, bS @ P @ bS - cp * cp
            disc = qb * qb - 4 * qa * qc
            if disc < 0:
                continue
            for mu in ((-qb + np.sqrt(disc)) / (2 * qa), (-qb - np.sqrt(disc)) / (2 * qa)):
                v = P @ (mu * one - bS)
                if (v < -1e-12).any() or v.sum() <= 0:
                    continue
                vv = np.zeros(K)
                vv[S] = np.maximum(v, 0)
                d = g0 + vv @ G
                if (G @ d >= mu - 1e-9 * max(1.0, abs(mu))).all() and (best is None or mu > best[0]):
                    best = (mu, vv / vv.sum())
    return best[1]


def cagrad_ref(G32, c, rescale, method):
    G = G32.astype(np.float64)
    K = G.shape[0]
    g0 = G.mean(0)
    cp = c * np.linalg.norm(g0)
    rmax = np.sqrt(np.diag(G @ G.T)).max()
    w, lam = np.full(K, 1.0 / K), 0.0
    if cp > 1e-10 * rmax and cp > 0:
        w = cag_golden(G, g0, cp) if method == "golden" else cag_faces(G, g0, cp)
        gw = np.linalg.norm(w @ G)
        if gw > 1e-6 * rmax:
            lam = cp / gw
    alpha = (1.0 / K + lam * w) / ((1 + c * c) if rescale else 1)
    return alpha @ G, alpha


for name, (c, rescale) in {"default": (0.5, True), "c02_norescale": (0.2, False)}.items():
    for cs, G32 in cases.items():
        method = "faces" if G32.shape[0] > 3 else "golden"
        d, alpha = cagrad_ref(G32, c, rescale, method)
        if cs == "k3":  # the two references agree
            d2, a2_ = cagrad_ref(G32, c, rescale, "faces")
            assert np.allclose(d, d2, rtol=1e-7, atol=1e-9) and np.allclose(alpha, a2_, rtol=1e-6, atol=1e-9)
        grp = groups_of(G32) if cs in ("ident2", "ident3") else None
        store(f"cagrad.{name}.{cs}", d, alpha, grp)


# ---- imtl
def imtl_g_ref(G32):
    G = G32.astype(np.float64)
    K = G.shape[0]
    alpha = np.zeros(K)
    if K == 1:
        return G[0].copy(), np.ones(1)
    nrm = np.linalg.norm(G, axis=1)
    idx = [k for k in range(K) if nrm[k] > 0]
    if len(idx) == 1:
        alpha[idx[0]] = 1
    if len(idx) >= 2:
        Gs = G[idx]
        Us = Gs / nrm[idx][:, None]
        Dm = Gs[0:1] - Gs[1:]
        Um = Us[0:1] - Us[1:]
        DU = Dm @ Um.T
        rhs = Gs[0] @ Um.T
        if np.linalg.cond(DU) < 1e10:
            a = rhs @ np.linalg.inv(DU)
        else:
            a = rhs @ np.linalg.pinv(DU, rcond=1e-5)
        alpha[idx[1:]] = a
        alpha[idx[0]] = 1 - a.sum()
    return alpha @ G, alpha


for cs, G32 in cases.items():
    d, alpha = imtl_g_ref(G32)
    store(f"imtl.g.{cs}", d, alpha)


def adam_step(p, grad, m, v, t, lr):  # torch.optim.Adam, betas (0.9, 0.999), eps 1e-8
    m[:] = 0.9 * m + 0.1 * grad
    v[:] = 0.999 * v + 0.001 * grad * grad
    c1, c2 = 1 - 0.9 ** t, 1 - 0.999 ** t
    p -= lr / c1 * m / (np.sqrt(v / c2) + 1e-8)


STEPS, LR = 6, 0.1
for mode in ["lg", "l"]:
    for cs in ["k3", "k5"]:
        base = cases[cs]
        K = base.shape[0]
        s, m, v = np.zeros(K), np.zeros(K), np.zeros(K)
        for t in range(STEPS):
            G32 = f32(base + 0.2 * t * f32(rng.normal(size=base.shape)))
            L = f32(rng.uniform(0.2, 3.0, size=K))
            lam = np.exp(s)
            lam32 = f32(lam)
            adam_step(s, lam * L.astype(np.float64) - 1, m, v, t + 1, LR)
            rows = lam32[:, None] * G32  # float32 products, as the C test forms them
            if mode == "lg":
                d, alpha = imtl_g_ref(rows)
            else:
                d, alpha = rows.astype(np.float64).sum(0), lam32.astype(np.float64)
            p = f"imtl.{mode}.{cs}.step{t}"
            out[f"{p}.G"] = G32
            out[f"{p}.losses"] = L
            out[f"{p}.lambda"] = lam
            store(p, d, alpha)
out["imtl.lr"] = np.array([LR])


# ---- nash
RIDGE = 1e-6


def nash_ref(G32, max_norm):
    G = G32.astype(np.float64)
    K = G.shape[0]
    M = G @ G.T
    idx = [k for k in range(K) if M[k, k] > 0]
    alpha = np.zeros(K)
    if idx:
        s = max(M[k, k] for k in idx)
        Mh = M[np.ix_(idx, idx)] / s + RIDGE * np.eye(len(idx))
        Mt = torch.tensor(Mh)
        y = torch.zeros(len(idx), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([y], lr=1, max_iter=20000, tolerance_grad=1e-14, tolerance_change=1e-30,
                                history_size=20, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            a = torch.exp(y)
            f = 0.5 * a @ Mt @ a - y.sum()
            f.backward()
            return f

        for _ in range(5):
            opt.step(closure)
        a = torch.exp(y).detach().numpy().copy()
        for _ in range(100000):  # coordinate descent: each a_k exactly minimised
            change = 0.0
            for k in range(len(a)):
                cc = Mh[k] @ a - Mh[k, k] * a[k]
                new = (-cc + np.sqrt(cc * cc + 4 * Mh[k, k])) / (2 * Mh[k, k])
                change = max(change, abs(new - a[k]) / new)
                a[k] = new
            if change < 1e-15:
                break
        alpha[idx] = a / np.sqrt(s)
    nd = np.linalg.norm(alpha @ G)
    if max_norm > 0 and nd > max_norm:
        alpha = alpha * (max_norm / nd)
    return alpha @ G, alpha


for name, mx in {"default": 1.0, "noclip": 0.0}.items():
    for cs, G32 in cases.items():
        d, alpha = nash_ref(G32, mx)
        store(f"nash.{name}.{cs}", d, alpha)


# ---- aligned
def aligned_ref(G32, w):
    G = G32.astype(np.float64)
    K = G.shape[0]
    M = G @ G.T
    e, V = np.linalg.eigh(M)
    if not e.max() > 0:
        return np.zeros(G.shape[1]), np.zeros(K)
    keep = e > e.max() * K * F32EPS
    ek, Vk = e[keep], V[:, keep]
    B = np.sqrt(ek.min()) * (Vk / np.sqrt(ek)) @ Vk.T
    alpha = B.T @ w
    return alpha @ G, alpha


for cs, G32 in cases.items():
    d, alpha = aligned_ref(G32, np.ones(G32.shape[0]))
    store(f"aligned.default.{cs}", d, alpha)
    store(f"aligned.weighted.{cs}", d, alpha)  # lambda = 1 from the strategy's weights()

save("weighting_solve.safetensors", out, "tests/parity/gen_weighting_solve.py")
