"""Fixture for tests/test_weighting_strategies.c: the loss weights, combined gradients, per-task
scales and state trajectories of the uw, rlw, gls, famo, gradnorm, pcgrad, graddrop and gradvac
strategies on fixed losses / gradient matrices, computed independently in float64 (NumPy, and
PyTorch autograd + torch.optim.Adam for the trainable parameters).

The random strategies draw from the strategy's own Philox-4x32-10 stream (seed, stream 0x3e1947);
Philox is re-implemented here from src/core/rng.c's definition so that the script knows the draws
(rlw: the normals z; pcgrad / gradvac: the visiting orders; graddrop: the uniforms U). The draws are
stored too, and the C test replays the stream to check them.

Each case "<strategy>.<name>" holds (S steps, K tasks, D gradient columns):
  cfg [9] f64: seed, lr, uw_init, famo_beta, famo_gamma, gradnorm_alpha, gradvac_beta, last_begin, last_end
  losses [S, K] f32, losses_after [S, K] f32 (famo), G [S, K, D] f32 (gradient strategies)
  lambda [S, K], d [S, D], alpha [S, K], state [S, n] (after each step), f64
  z [S, K] f32 (rlw), order [S, K, K-1] i32 (pcgrad, gradvac), U [S, D] f32 (graddrop)
Run: /usr/bin/python3 tests/parity/gen_weighting_strategies.py"""
import math

import numpy as np
import torch
from fixture import save

torch.set_default_dtype(torch.float64)
STREAM = 0x3E1947
M32, M64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


# ---- Philox-4x32-10 (Salmon et al. 2011), as src/core/rng.c uses it -----------------------
def mix64(z):
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class Philox:
    def __init__(self, seed, stream=STREAM):
        k = mix64(seed)
        self.key, self.stream, self.counter = (k & M32, k >> 32), stream, 0

    def block(self):
        c = [self.counter & M32, self.counter >> 32, self.stream & M32, self.stream >> 32]
        k0, k1 = self.key
        for _ in range(10):
            p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
            c = [(p1 >> 32) ^ c[1] ^ k0, p1 & M32, (p0 >> 32) ^ c[3] ^ k1, p0 & M32]
            k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
        self.counter += 1
        return c

    def u32(self):  # one block per word
        return self.block()[0]

    def uniform01(self):  # mtl_rng_float: the top 24 bits
        return np.float32((self.u32() >> 8) / 16777216.0)

    def below(self, n):  # mtl_rng_below: 64-bit draws (high word first), rejection
        if n <= 1:
            return 0
        limit = M64 - M64 % n
        while True:
            x = (self.u32() << 32) | self.u32()
            if x < limit:
                return x % n

    def permutation(self, n):  # mtl_rng_permutation: Fisher-Yates from the end
        out = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.below(i + 1)
            out[i], out[j] = out[j], out[i]
        return out

    def normal(self, n):  # mtl_rng_normal: Box-Muller, 4 normals per block
        out = []
        while len(out) < n:
            w = self.block()
            for p in range(2):
                u1 = (w[2 * p] + 1.0) / 4294967297.0
                u2 = w[2 * p + 1] / 4294967296.0
                rad = math.sqrt(-2.0 * math.log(u1))
                out += [rad * math.cos(2 * math.pi * u2), rad * math.sin(2 * math.pi * u2)]
        return np.array(out[:n], dtype=np.float32)


def visiting_orders(rng, K):
    """per task k, the other tasks in the order drawn (pcgrad.c / gradvac.c)"""
    orders = []
    for k in range(K):
        others = [j for j in range(K) if j != k]
        orders.append([others[p] for p in rng.permutation(K - 1)])
    return orders


# ---- the strategies, written from the papers / weighting.md --------------------------------
def adam(params):
    return torch.optim.Adam([params], lr=0.0, betas=(0.9, 0.999), eps=1e-8)


def run_uw(c, L):
    s = torch.nn.Parameter(torch.full((L.shape[1],), c["uw_init"]))
    opt = adam(s)
    opt.param_groups[0]["lr"] = c["lr"]
    lam, state = [], []
    for Ls in L:
        lam.append((torch.exp(-s) / 2).detach().numpy().copy())
        opt.zero_grad()
        loss = (torch.exp(-s) * torch.tensor(Ls.astype(np.float64)) / 2 + s / 2).sum()
        loss.backward()
        opt.step()
        state.append(s.detach().numpy().copy())
    return dict(lam=lam, state=state)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def run_rlw(c, L):
    rng = Philox(int(c["seed"]))
    lam, zs = [], []
    for _ in L:
        z = rng.normal(L.shape[1])
        zs.append(z)
        lam.append(softmax(z.astype(np.float64)))
    return dict(lam=lam, z=zs)


def run_gls(c, L):
    lam = []
    for Ls in L:
        x = torch.tensor(Ls.astype(np.float64), requires_grad=True)
        torch.prod(x).pow(1.0 / len(Ls)).backward()
        lam.append(x.grad.numpy().copy())
    return dict(lam=lam)


def run_famo(c, L, La):
    K = L.shape[1]
    xi = np.zeros(K)
    lam, state = [], []
    for Ls, Las in zip(L, La):
        Ls, Las = Ls.astype(np.float64), Las.astype(np.float64)
        z = softmax(xi)
        cc = 1.0 / np.sum(z / Ls)
        lam.append(cc * z / Ls)
        delta = np.log(Ls) - np.log(Las)
        t = torch.tensor(xi, requires_grad=True)
        (Jd,) = torch.autograd.grad(torch.softmax(t, 0), t, grad_outputs=torch.tensor(delta))
        xi = xi - c["famo_beta"] * (Jd.numpy() + c["famo_gamma"] * xi)
        state.append(xi.copy())
    return dict(lam=lam, state=state)


def run_gradnorm(c, L, G):
    K = L.shape[1]
    b, e = int(c["last_begin"]), int(c["last_end"]) or G.shape[2]  # (0, 0): all columns
    w = torch.nn.Parameter(torch.ones(K))
    opt = adam(w)
    opt.param_groups[0]["lr"] = c["lr"]
    L0 = L[0].astype(np.float64)
    lam, d, alpha, state = [], [], [], []
    for Ls, Gs in zip(L, G):
        lam_s = w.detach().numpy().astype(np.float32).astype(np.float64)  # what weights() gives
        Gs = Gs.astype(np.float64)
        lam.append(lam_s)
        Gn = np.linalg.norm(Gs[:, b:e], axis=1)  # = w_k ||grad_W L_k||
        ratio = Ls.astype(np.float64) / L0
        r = ratio / ratio.mean() if ratio.mean() > 0 else np.ones(K)
        T = torch.tensor(Gn.mean() * r ** c["gradnorm_alpha"])  # held constant
        unit = torch.tensor(Gn / lam_s)  # ||grad_W L_k||
        opt.zero_grad()
        (w * unit - T).abs().sum().backward()
        opt.step()
        with torch.no_grad():
            w.clamp_(min=1e-4)
            w.mul_(K / w.sum())
        state.append(w.detach().numpy().copy())
        d.append(Gs.sum(0))
        alpha.append(lam_s)
    return dict(lam=lam, d=d, alpha=alpha, state=state)


def lsq_scale(G, d):
    return np.array([g @ d / (g @ g) if g @ g > 0 else 0.0 for g in G])


def run_pcgrad(c, L, G):
    rng = Philox(int(c["seed"]))
    K = G.shape[1]
    d, alpha, orders = [], [], []
    for Gs in G:
        Gs = Gs.astype(np.float64)
        order = visiting_orders(rng, K)
        orders.append(order)
        out = np.zeros(Gs.shape[1])
        for k in range(K):
            g = Gs[k].copy()
            for j in order[k]:
                dot = g @ Gs[j]
                if dot < 0:
                    g -= dot / (Gs[j] @ Gs[j]) * Gs[j]
            out += g
        d.append(out)
        alpha.append(lsq_scale(Gs, out))
    return dict(lam=[np.ones(K)] * len(G), d=d, alpha=alpha, order=orders)


def run_graddrop(c, L, G):
    rng = Philox(int(c["seed"]))
    K, D = G.shape[1], G.shape[2]
    d, alpha, Us = [], [], []
    for Gs in G:
        Gs = Gs.astype(np.float64)
        U = np.array([rng.uniform01() for _ in range(D)], dtype=np.float32)
        Us.append(U)
        out = np.zeros(D)
        for i in range(D):
            col = Gs[:, i]
            s = a = 0.0
            for v in col:  # task order, as the C loop
                s += v
                a += abs(v)
            if a == 0:
                continue
            P = 0.5 * (1 + s / a)
            keep = col > 0 if float(U[i]) < P else col < 0
            out[i] = col[keep].sum()
        d.append(out)
        alpha.append(lsq_scale(Gs, out))
    return dict(lam=[np.ones(K)] * len(G), d=d, alpha=alpha, U=Us)


def run_gradvac(c, L, G):
    rng = Philox(int(c["seed"]))
    K = G.shape[1]
    beta = c["gradvac_beta"]
    phi_hat = np.zeros((K, K))
    d, alpha, orders, state = [], [], [], []
    for Gs in G:
        Gs = Gs.astype(np.float64)
        norms = np.linalg.norm(Gs, axis=1)
        order = visiting_orders(rng, K)
        orders.append(order)
        out, coef = np.zeros(Gs.shape[1]), np.zeros(K)
        for k in range(K):
            g, a = Gs[k].copy(), np.eye(K)[k]
            for j in order[k]:
                nk, nj = np.linalg.norm(g), norms[j]
                if nj == 0 or nk <= 1e-12 * np.abs(a) @ norms:  # undefined cosine: skip the pair
                    continue
                cos = min(max(g @ Gs[j] / (nk * nj), -1.0), 1.0)
                t = phi_hat[k, j]
                if cos < t and math.sqrt(1 - t * t) >= 1e-6:
                    w = nk * (t * math.sqrt(1 - cos * cos) - cos * math.sqrt(1 - t * t)) / (nj * math.sqrt(1 - t * t))
                    g += w * Gs[j]
                    a[j] += w
                phi_hat[k, j] = (1 - beta) * t + beta * cos
            out += g
            coef += a
        assert np.allclose(coef @ Gs, out, atol=1e-12)
        d.append(out)
        alpha.append(coef)
        state.append(phi_hat.reshape(-1).copy())
    return dict(lam=[np.ones(K)] * len(G), d=d, alpha=alpha, order=orders, state=state)


# ---- the cases ---------------------------------------------------------------------------
DEFAULTS = dict(seed=1, lr=1e-3, uw_init=0.0, famo_beta=0.025, famo_gamma=0.001, gradnorm_alpha=1.5,
                gradvac_beta=0.5, last_begin=0, last_end=0)
CFG_KEYS = list(DEFAULTS)


def f32(x):
    return np.asarray(x, dtype=np.float32)


def losses(S, K, seed, lo=0.2, hi=2.5):
    return f32(np.random.default_rng(seed).uniform(lo, hi, size=(S, K)))


def grads(S, K, D, seed, kind="random"):
    g = np.random.default_rng(seed).normal(size=(S, K, D))
    if kind == "identical":
        g[:] = g[:, :1]
    elif kind == "opposite":  # row 1 = -row 0 (K = 3: row 2 stays its own)
        g[:, 1] = -g[:, 0]
    elif kind == "zero":
        g[:, 1] = 0
    elif kind == "zero_column":  # graddrop: all-zero coordinates
        g[:, :, ::3] = 0
    return f32(g)


out = {}


def case(prefix, fn, L, G=None, La=None, **cfg):
    c = dict(DEFAULTS, **cfg)
    args = [c, L] + ([La] if La is not None else []) + ([G] if G is not None else [])
    r = fn(*args)
    out[f"{prefix}.cfg"] = np.array([float(c[k]) for k in CFG_KEYS])
    out[f"{prefix}.losses"] = L
    out[f"{prefix}.lambda"] = np.array(r["lam"], dtype=np.float64)
    if La is not None:
        out[f"{prefix}.losses_after"] = La
    if G is not None:
        out[f"{prefix}.G"] = G
        out[f"{prefix}.d"] = np.array(r["d"])
        out[f"{prefix}.alpha"] = np.array(r["alpha"])
    if "state" in r:
        out[f"{prefix}.state"] = np.array(r["state"])
    if "z" in r:
        out[f"{prefix}.z"] = f32(r["z"])
    if "order" in r:
        K = L.shape[1]
        out[f"{prefix}.order"] = np.array(r["order"], dtype=np.int32).reshape(len(L), K, K - 1)
    if "U" in r:
        out[f"{prefix}.U"] = f32(r["U"])


# loss-only strategies (zero gradient rows have no meaning here: equal losses, a zero loss instead)
case("uw.k2", run_uw, losses(6, 2, 1), lr=0.05)
case("uw.k3", run_uw, losses(5, 3, 2), lr=0.1, uw_init=-0.5)
case("uw.k5", run_uw, losses(4, 5, 3))
case("uw.equal", run_uw, f32(np.full((4, 3), 0.7)), lr=0.05)
case("uw.zero_loss", run_uw, f32([[0.0, 1.2]] * 4), lr=0.05)
case("rlw.k2", run_rlw, losses(4, 2, 4), seed=1)
case("rlw.k3", run_rlw, losses(4, 3, 5), seed=7)
case("rlw.k5", run_rlw, losses(4, 5, 6), seed=12345)
case("gls.k2", run_gls, losses(2, 2, 7))
case("gls.k3", run_gls, losses(2, 3, 8))
case("gls.k5", run_gls, losses(2, 5, 9, lo=1e-3, hi=20.0))
case("gls.equal", run_gls, f32(np.full((1, 3), 1.3)))
La = losses(5, 2, 10)
case("famo.k2", run_famo, losses(5, 2, 11), La=La)
L3 = losses(5, 3, 12)
case("famo.k3", run_famo, L3, La=f32(L3 * np.random.default_rng(13).uniform(0.6, 1.1, size=L3.shape)),
     famo_beta=0.5, famo_gamma=0.01)
L5 = losses(4, 5, 14)
case("famo.k5", run_famo, L5, La=f32(L5 * np.random.default_rng(15).uniform(0.5, 1.2, size=L5.shape)),
     famo_beta=0.2)
case("famo.equal", run_famo, f32(np.full((4, 3), 0.9)), La=f32(np.full((4, 3), 0.8)), famo_beta=0.5)

# gradient strategies: K = 2, 3, 5 random; identical, opposite and zero rows
case("gradnorm.k2", run_gradnorm, losses(5, 2, 20), G=grads(5, 2, 10, 21), lr=0.05, last_begin=3, last_end=8)
case("gradnorm.k3", run_gradnorm, losses(5, 3, 22), G=grads(5, 3, 9, 23), lr=0.05)
case("gradnorm.k5", run_gradnorm, losses(4, 5, 24), G=grads(4, 5, 12, 25), lr=0.02, gradnorm_alpha=0.5,
     last_begin=6, last_end=12)
case("gradnorm.identical", run_gradnorm, losses(4, 3, 26), G=grads(4, 3, 8, 27, "identical"), lr=0.05)
case("gradnorm.opposite", run_gradnorm, losses(4, 2, 28), G=grads(4, 2, 8, 29, "opposite"), lr=0.05)
case("gradnorm.zero", run_gradnorm, losses(4, 3, 30), G=grads(4, 3, 8, 31, "zero"), lr=0.05, last_begin=2,
     last_end=6)
case("pcgrad.k2", run_pcgrad, losses(3, 2, 40), G=grads(3, 2, 6, 41))
case("pcgrad.k3", run_pcgrad, losses(3, 3, 42), G=grads(3, 3, 5, 43), seed=3)
case("pcgrad.k5", run_pcgrad, losses(3, 5, 44), G=grads(3, 5, 4, 45), seed=11)
case("pcgrad.identical", run_pcgrad, losses(2, 3, 46), G=grads(2, 3, 6, 47, "identical"))
case("pcgrad.opposite", run_pcgrad, losses(2, 2, 48), G=grads(2, 2, 6, 49, "opposite"))
case("pcgrad.opposite3", run_pcgrad, losses(2, 3, 50), G=grads(2, 3, 6, 51, "opposite"), seed=5)
case("pcgrad.zero", run_pcgrad, losses(2, 3, 52), G=grads(2, 3, 6, 53, "zero"), seed=2)
case("graddrop.k2", run_graddrop, losses(2, 2, 60), G=grads(2, 2, 12, 61))
case("graddrop.k3", run_graddrop, losses(2, 3, 62), G=grads(2, 3, 12, 63), seed=4)
case("graddrop.k5", run_graddrop, losses(2, 5, 64), G=grads(2, 5, 16, 65), seed=9)
case("graddrop.identical", run_graddrop, losses(1, 3, 66), G=grads(1, 3, 10, 67, "identical"))
case("graddrop.opposite", run_graddrop, losses(2, 2, 68), G=grads(2, 2, 10, 69, "opposite"), seed=6)
case("graddrop.zero", run_graddrop, losses(1, 3, 70), G=grads(1, 3, 10, 71, "zero"))
case("graddrop.zero_column", run_graddrop, losses(1, 3, 72), G=grads(1, 3, 10, 73, "zero_column"))
case("gradvac.k2", run_gradvac, losses(5, 2, 80), G=grads(5, 2, 6, 81))
case("gradvac.k3", run_gradvac, losses(5, 3, 82), G=grads(5, 3, 5, 83), seed=8)
case("gradvac.k5", run_gradvac, losses(4, 5, 84), G=grads(4, 5, 6, 85), seed=10, gradvac_beta=0.3)
case("gradvac.identical", run_gradvac, losses(4, 3, 86), G=grads(4, 3, 6, 87, "identical"))
case("gradvac.opposite", run_gradvac, losses(4, 2, 88), G=grads(4, 2, 6, 89, "opposite"))
case("gradvac.opposite3", run_gradvac, losses(4, 3, 90), G=grads(4, 3, 6, 91, "opposite"), seed=13)
case("gradvac.zero", run_gradvac, losses(4, 3, 92), G=grads(4, 3, 6, 93, "zero"), seed=14)

save("weighting_strategies.safetensors", out, "tests/parity/gen_weighting_strategies.py")
