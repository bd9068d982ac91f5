/* Direct stride-1 convolution kernels with AVX-512 register blocking.
 *
 * At MTAGN's shapes (16-128 channels, kernels 1-7, lengths 128-2048) im2col + a
 * BLAS GEMM spends as much time building, packing and scattering buffers as in the
 * multiply itself; these kernels read the input rows in place instead:
 *  - forward: a block of 8 output rows x 32 output positions lives in 16 vector
 *    registers; each (input channel, tap) adds one broadcast weight times one
 *    (shifted, unaligned) load of the input row. The input gradient is the same
 *    kernel run on dy with the flipped, transposed weights.
 *  - weight gradient: for a block of 4 output rows x (channels, taps) the products
 *    dy[o, j] x[c, j + k - pad] accumulate in vector registers over j and a group of
 *    samples, and are reduced once; the bias gradient rides along.
 * Everything is compiled for AVX-512F through function attributes and chosen at run
 * time, so the library runs on any x86-64 (and elsewhere) and the sanitizer build
 * tests the same kernels. Sums run in a fixed order: results do not depend on
 * threads. */
#include "ops/conv_fast.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ops/avx512.h"

void mtl__pad_rows(const float *x, int C, int L, int pad, float *xp) {
    int Lp = L + 2 * pad;
    for (int c = 0; c < C; c++) {
        float *r = xp + (size_t)c * Lp;
        memset(r, 0, (size_t)pad * sizeof *r);
        memcpy(r + pad, x + (size_t)c * L, (size_t)L * sizeof *r);
        memset(r + pad + L, 0, (size_t)pad * sizeof *r);
    }
}

bool mtl__conv_fast_available(void) {
#if HAVE_AVX512_KERNELS
    /* -1: not checked yet; atomic: the first call may come from inside a parallel region */
    static _Atomic int state = -1;
    int s = atomic_load_explicit(&state, memory_order_relaxed);
    if (s < 0) {
        const char *env = getenv("MTL_CONV_FAST");
        __builtin_cpu_init();
        s = __builtin_cpu_supports("avx512f") && !(env && !strcmp(env, "0"));
        atomic_store_explicit(&state, s, memory_order_relaxed);
    }
    return s == 1;
#else
    return false;
#endif
}

#if HAVE_AVX512_KERNELS

#define OB MTL_CONV_FAST_OB
#define TILE 32   /* output positions per forward block: two vectors */
#define PANEL 512 /* output positions per panel of the forward kernel (a multiple of TILE) */

/* ob rows (a constant after inlining) x one tile of up to 32 positions (masks m0, m1) */
/* the max of each group of `pool` (2 or 4) adjacent lanes of v, packed into the first
 * 16 / pool floats at dst (compress in a register, then a masked store: the compress-to-
 * memory form is microcoded and slow on some CPUs, Zen 4 among them) */
INL void store_pooled(float *dst, __m512 v, int pool) {
    const __m512i next = _mm512_set_epi32(15, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    __m512 m = _mm512_max_ps(v, _mm512_permutexvar_ps(next, v));
    if (pool == 2) {
        _mm512_mask_storeu_ps(dst, (__mmask16)0x00FF, _mm512_maskz_compress_ps((__mmask16)0x5555, m));
    } else {
        const __m512i next2 = _mm512_set_epi32(15, 15, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2);
        m = _mm512_max_ps(m, _mm512_permutexvar_ps(next2, m));
        _mm512_mask_storeu_ps(dst, (__mmask16)0x000F, _mm512_maskz_compress_ps((__mmask16)0x1111, m));
    }
}

/* mode: 0 plain, 1 ReLU, 2 or 4: ReLU then max-pooling by 2 or 4 (full tiles only; y then
 * has rows of ldy pooled values and the tile lands at j0 / mode) */
INL void fwd_block(const float *xp, int ldx, const float *w, int Cin, int K, int ob, const float *bias, bool acc,
                   int mode, float *y, int ldy, int j0, __mmask16 m0, __mmask16 m1) {
    __m512 a0[OB], a1[OB];
    size_t ws = (size_t)Cin * K;
    for (int r = 0; r < ob; r++) {
        if (acc) {
            a0[r] = _mm512_maskz_loadu_ps(m0, y + (size_t)r * ldy + j0);
            a1[r] = _mm512_maskz_loadu_ps(m1, y + (size_t)r * ldy + j0 + 16);
        } else {
            a0[r] = a1[r] = _mm512_set1_ps(bias ? bias[r] : 0.0f);
        }
    }
    for (int c = 0; c < Cin; c++) {
        const float *xr = xp + (size_t)c * ldx + j0, *wc = w + (size_t)c * K;
        for (int k = 0; k < K; k++) {
            __m512 x0 = _mm512_maskz_loadu_ps(m0, xr + k), x1 = _mm512_maskz_loadu_ps(m1, xr + k + 16);
            for (int r = 0; r < ob; r++) {
                __m512 wv = _mm512_set1_ps(wc[(size_t)r * ws + k]);
                a0[r] = _mm512_fmadd_ps(wv, x0, a0[r]);
                a1[r] = _mm512_fmadd_ps(wv, x1, a1[r]);
            }
        }
    }
    if (mode) /* inference with batchnorm folded in: the ReLU on the way out */
        for (int r = 0; r < ob; r++) {
            a0[r] = _mm512_max_ps(a0[r], _mm512_setzero_ps());
            a1[r] = _mm512_max_ps(a1[r], _mm512_setzero_ps());
        }
    if (mode > 1) { /* and the max-pooling */
        for (int r = 0; r < ob; r++) {
            float *d = y + (size_t)r * ldy + j0 / mode;
            store_pooled(d, a0[r], mode);
            store_pooled(d + 16 / mode, a1[r], mode);
        }
        return;
    }
    for (int r = 0; r < ob; r++) {
        _mm512_mask_storeu_ps(y + (size_t)r * ldy + j0, m0, a0[r]);
        _mm512_mask_storeu_ps(y + (size_t)r * ldy + j0 + 16, m1, a1[r]);
    }
}

/* full tiles unmasked (a mask of all ones is a constant here), then the tail */
INL void fwd_rows(const float *xp, int ldx, const float *w, int Cin, int K, int ob, const float *bias, bool acc,
                  int mode, float *y, int ldy, int j0, int Lout) {
    if (Lout - j0 >= TILE) fwd_block(xp, ldx, w, Cin, K, ob, bias, acc, mode, y, ldy, j0, 0xFFFF, 0xFFFF);
    else
        fwd_block(xp, ldx, w, Cin, K, ob, bias, acc, mode, y, ldy, j0, tail_mask(Lout - j0), tail_mask(Lout - j0 - 16));
}

TGT static void fwd_all(const float *xp, int ldx, const float *w, int Cin, int K, int o0, int o1, const float *bias,
                        bool acc, int mode, float *y, int ldy, int Lout) {
    size_t ws = (size_t)Cin * K;
    /* panels of PANEL positions, in each every block of OB rows sweeps the panel tile by
     * tile: the panel of the input stays in cache for all rows, and a block stores OB
     * sequential runs. (Tiles outermost, every row of a tile before the next tile, stored
     * into Cout rows at once: the store misses then stall the MTAGN step, about 6 % slower.) */
    for (int p0 = 0; p0 < Lout; p0 += PANEL) {
        int p1 = Lout - p0 < PANEL ? Lout : p0 + PANEL, o = o0;
        for (; o + OB <= o1; o += OB)
            for (int j0 = p0; j0 < p1; j0 += TILE)
                fwd_rows(xp, ldx, w + o * ws, Cin, K, OB, bias ? bias + o : NULL, acc, mode, y + (size_t)o * ldy, ldy,
                         j0, Lout);
        for (; o < o1; o++)
            for (int j0 = p0; j0 < p1; j0 += TILE)
                fwd_rows(xp, ldx, w + o * ws, Cin, K, 1, bias ? bias + o : NULL, acc, mode, y + (size_t)o * ldy, ldy,
                         j0, Lout);
    }
}

/* ---- weight gradient ----------------------------------------------------------
 * x is read in place (no padded copy): output j, tap k reads x[c, j + k - pad], and
 * the few steps that touch the padding load with a mask. A block accumulates over a
 * group of samples before its one horizontal reduction, so short rows (L = 128) do
 * not pay a reduction per sample. */

#define DW_OB 4
#define DW_ACC 8 /* cb * K <= DW_ACC */

typedef struct {
    const float *x, *dy; /* sample n0's rows */
    size_t xs, ys;       /* sample strides */
    int ns;              /* samples in the group */
    int L, Lout, ldy, pad, Cin;
    int ldx;             /* row stride of x: L, or L + 2 pad when x is zero-padded (then pad is 0 here) */
} dw_args;

/* one step of 16 output positions at j; edge: mask the loads outside [0, L) / [0, Lout) */
INL void dw_step(const float *xb, const float *db, const dw_args *a, int k0, int KB, int ob, int cb, int j, bool edge,
                 bool with_b, __m512 acc[DW_OB][DW_ACC], __m512 bacc[DW_OB]) {
    __m512 d[DW_OB];
    __mmask16 md = edge ? tail_mask(a->Lout - j) : 0xFFFF;
    for (int r = 0; r < ob; r++) {
        const float *dr = db + (size_t)r * a->ldy + j;
        d[r] = edge ? _mm512_maskz_loadu_ps(md, dr) : _mm512_loadu_ps(dr);
        if (with_b) bacc[r] = _mm512_add_ps(bacc[r], d[r]);
    }
    for (int q = 0; q < cb; q++)
        for (int kk = 0; kk < KB; kk++) {
            int p = j + k0 + kk - a->pad; /* input position of lane 0 */
            const float *xr = xb + (size_t)q * a->ldx + p;
            __m512 xv;
            if (edge) {
                int lo = p < 0 ? -p : 0, hi = a->L - p < 16 ? a->L - p : 16;
                __mmask16 m = (__mmask16)(tail_mask(hi) & ~tail_mask(lo) & md);
                xv = _mm512_maskz_loadu_ps(m, xr);
            } else {
                xv = _mm512_loadu_ps(xr);
            }
            for (int r = 0; r < ob; r++) acc[r][q * KB + kk] = _mm512_fmadd_ps(d[r], xv, acc[r][q * KB + kk]);
        }
}

/* rows [o, o+ob) x channels [c, c+cb) x taps [k0, k0+KB) over the group's samples; K, k0,
 * KB, ob, cb, with_b are constants after inlining (at most 28 accumulators: with the 4 dy rows
 * they fit the 32 registers).
 * with_b: also the bias gradient (sum of the dy rows). */
INL void dw_block(const dw_args *a, int K, int k0, int KB, int ob, int cb, bool with_b, float *dw, float *dbias, int o,
                  int c) {
    __m512 acc[DW_OB][DW_ACC], bacc[DW_OB];
    for (int r = 0; r < ob; r++) {
        bacc[r] = _mm512_setzero_ps();
        for (int i = 0; i < cb * KB; i++) acc[r][i] = _mm512_setzero_ps();
    }
    /* steps j in [j_lo, j_hi] read no padding and no tail */
    int j_lo = (a->pad + 15) / 16 * 16, j_hi = a->L - (K - 1 - a->pad) - 16, jmax = a->Lout - 16;
    if (jmax < j_hi) j_hi = jmax;
    for (int n = 0; n < a->ns; n++) {
        const float *xb = a->x + n * a->xs + (size_t)c * a->ldx, *db = a->dy + n * a->ys + (size_t)o * a->ldy;
        int j = 0;
        for (; j < a->Lout && j < j_lo; j += 16) dw_step(xb, db, a, k0, KB, ob, cb, j, true, with_b, acc, bacc);
        for (; j <= j_hi; j += 16) dw_step(xb, db, a, k0, KB, ob, cb, j, false, with_b, acc, bacc);
        for (; j < a->Lout; j += 16) dw_step(xb, db, a, k0, KB, ob, cb, j, true, with_b, acc, bacc);
    }
    for (int r = 0; r < ob; r++) {
        for (int q = 0; q < cb; q++)
            for (int kk = 0; kk < KB; kk++)
                dw[((size_t)(o + r) * a->Cin + c + q) * K + k0 + kk] += _mm512_reduce_add_ps(acc[r][q * KB + kk]);
        if (with_b) dbias[o + r] += _mm512_reduce_add_ps(bacc[r]);
    }
}

/* all taps of rows [o, o+ob) x channels [c, c+cb): taps split in two passes of KA and K-KA */
INL void dw_taps(const dw_args *a, int K, int KA, int ob, int cb, bool with_b, float *dw, float *dbias, int o, int c) {
    dw_block(a, K, 0, KA, ob, cb, with_b, dw, dbias, o, c);
    if (KA < K) dw_block(a, K, KA, K - KA, ob, cb, false, dw, dbias, o, c);
}

/* CB_ channels per block, taps in passes of KA_: enough accumulators to hide the FMA
 * latency, few enough to stay in registers */
#define DW_FN(K_, CB_, KA_)                                                                                   \
    TGT static void dw_k##K_(const dw_args *a, int Cout, float *dw, float *db) {                             \
        int o = 0, Cin = a->Cin;                                                                              \
        for (; o + DW_OB <= Cout; o += DW_OB) {                                                               \
            int c = 0;                                                                                        \
            for (; c + CB_ <= Cin; c += CB_) {                                                                \
                if (c == 0 && db) dw_taps(a, K_, KA_, DW_OB, CB_, true, dw, db, o, c);                        \
                else dw_taps(a, K_, KA_, DW_OB, CB_, false, dw, db, o, c);                                    \
            }                                                                                                 \
            for (; c < Cin; c++) {                                                                            \
                if (c == 0 && db) dw_taps(a, K_, KA_, DW_OB, 1, true, dw, db, o, c);                          \
                else dw_taps(a, K_, KA_, DW_OB, 1, false, dw, db, o, c);                                      \
            }                                                                                                 \
        }                                                                                                     \
        for (; o < Cout; o++)                                                                                 \
            for (int c = 0; c < Cin; c++) {                                                                   \
                if (c == 0 && db) dw_taps(a, K_, KA_, 1, 1, true, dw, db, o, c);                              \
                else dw_taps(a, K_, KA_, 1, 1, false, dw, db, o, c);                                          \
            }                                                                                                 \
    }
DW_FN(1, 4, 1)
DW_FN(2, 3, 2)
DW_FN(3, 2, 3)
DW_FN(4, 1, 4)
DW_FN(5, 1, 5)
DW_FN(6, 1, 3)
DW_FN(7, 1, 7)

#endif /* HAVE_AVX512_KERNELS */

void mtl__conv_fast_fwd(const float *xp, int ldx, const float *w, int Cin, int K, int o0, int o1, const float *bias,
                        bool accumulate, float *y, int ldy, int Lout) {
#if HAVE_AVX512_KERNELS
    fwd_all(xp, ldx, w, Cin, K, o0, o1, bias, accumulate, 0, y, ldy, Lout);
#else
    (void)xp, (void)ldx, (void)w, (void)Cin, (void)K, (void)o0, (void)o1, (void)bias, (void)accumulate, (void)y;
    (void)ldy, (void)Lout;
#endif
}

void mtl__conv_fast_fwd_relu(const float *xp, int ldx, const float *w, int Cin, int K, int o0, int o1,
                             const float *bias, float *y, int ldy, int Lout, int pool) {
#if HAVE_AVX512_KERNELS
    fwd_all(xp, ldx, w, Cin, K, o0, o1, bias, false, pool == 2 || pool == 4 ? pool : 1, y, ldy, Lout);
#else
    (void)xp, (void)ldx, (void)w, (void)Cin, (void)K, (void)o0, (void)o1, (void)bias, (void)y, (void)ldy, (void)Lout;
    (void)pool;
#endif
}

static void conv_fast_dw(const float *x, int L, int ldx, int pad, const float *dy, int ldy, int Lout, int N, int Cout,
                         int Cin, int K, float *dw, float *db) {
#if HAVE_AVX512_KERNELS
    size_t xs = (size_t)Cin * ldx, ys = (size_t)Cout * ldy;
    /* samples per group: the group's rows of x and dy stay within about 512 KB (L2) */
    int group = (int)(131072 / (xs + ys));
    if (group < 1) group = 1;
    for (int n0 = 0; n0 < N; n0 += group) {
        dw_args a = {x + n0 * xs, dy + n0 * ys, xs, ys, N - n0 < group ? N - n0 : group, L, Lout, ldy, pad, Cin, ldx};
        switch (K) {
        case 1: dw_k1(&a, Cout, dw, db); break;
        case 2: dw_k2(&a, Cout, dw, db); break;
        case 3: dw_k3(&a, Cout, dw, db); break;
        case 4: dw_k4(&a, Cout, dw, db); break;
        case 5: dw_k5(&a, Cout, dw, db); break;
        case 6: dw_k6(&a, Cout, dw, db); break;
        case 7: dw_k7(&a, Cout, dw, db); break;
        default: break;
        }
    }
#else
    (void)x, (void)L, (void)ldx, (void)pad, (void)dy, (void)ldy, (void)Lout, (void)N, (void)Cout, (void)Cin, (void)K;
    (void)dw, (void)db;
#endif
}

void mtl__conv_fast_dw(const float *x, int L, int pad, const float *dy, int ldy, int Lout, int N, int Cout, int Cin,
                       int K, float *dw, float *db) {
    conv_fast_dw(x, L, L, pad, dy, ldy, Lout, N, Cout, Cin, K, dw, db);
}

void mtl__conv_fast_dw_padded(const float *xp, int ldx, const float *dy, int ldy, int Lout, int N, int Cout, int Cin,
                              int K, float *dw, float *db) {
    /* the padded rows are an input of length ldx without padding: no step needs a mask but the tail */
    conv_fast_dw(xp, ldx, ldx, 0, dy, ldy, Lout, N, Cout, Cin, K, dw, db);
}

/* ---- batchnorm + relu backward pieces (fused.c) -------------------------------- */

#if HAVE_AVX512_KERNELS
/* four chains of 16 float lane sums folded ((0 + 1) + (2 + 3)) into the 16 double lanes lo | hi
 * (norm.c's run sums flush the same way) */
INL void flush4(const __m512 v[4], __m512d *lo, __m512d *hi) {
    __m512 f = _mm512_add_ps(_mm512_add_ps(v[0], v[1]), _mm512_add_ps(v[2], v[3]));
    *lo = _mm512_add_pd(*lo, lo_pd(f)), *hi = _mm512_add_pd(*hi, hi_pd(f));
}

/* relu(batchnorm) > 0, recomputed from z in batchnorm's float operations ((z - m) sc + sh, no
 * fused multiply-add, as norm.c's normalise): the backward needs no read of the output y */
INL __mmask16 bnr_on(__m512 zv, __m512 mv, __m512 scv, __m512 shv) {
    __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(zv, mv), scv), shv);
    return _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
}

/* relu-masked d = (on ? da : 0): sums of d and d (z - mf) in float lanes (norm.c's layout:
 * four chains of 16, folded) flushed to double lanes every MTL_BN_FLUSH positions, then sdyx
 * corrected to the mean m: (mf - m) sum d */
INL void bnr_sums_step(const float *z, const float *da, __m512 mfv, __m512 scv, __m512 shv, __mmask16 t, __m512 *s,
                       __m512 *q) {
    __m512 dv = _mm512_maskz_loadu_ps(t, da), zv = _mm512_maskz_loadu_ps(t, z);
    __m512 d = _mm512_maskz_mov_ps(bnr_on(zv, mfv, scv, shv) & t, dv);
    *s = _mm512_add_ps(*s, d);
    *q = _mm512_add_ps(*q, _mm512_mul_ps(d, _mm512_sub_ps(zv, mfv)));
}

TGT static void bnr_sums_avx512(const float *z, const float *da, int L, double m, float mf, float sc, float sh,
                                double *sdy, double *sdyx) {
    const __m512 mfv = _mm512_set1_ps(mf), scv = _mm512_set1_ps(sc), shv = _mm512_set1_ps(sh);
    __m512d s0 = _mm512_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
    for (int l0 = 0; l0 < L; l0 += MTL_BN_FLUSH) {
        int l1 = L - l0 < MTL_BN_FLUSH ? L : l0 + MTL_BN_FLUSH;
        __m512 s[4], q[4];
        for (int k = 0; k < 4; k++) s[k] = q[k] = _mm512_setzero_ps();
        int l = l0;
        for (; l + 64 <= l1; l += 64)
            for (int k = 0; k < 4; k++)
                bnr_sums_step(z + l + 16 * k, da + l + 16 * k, mfv, scv, shv, 0xFFFF, &s[k], &q[k]);
        for (int k = 0; k < 4; k++) /* the tail: masked (constant indices: the sums stay in registers) */
            if (l + 16 * k < l1)
                bnr_sums_step(z + l + 16 * k, da + l + 16 * k, mfv, scv, shv, tail_mask(l1 - l - 16 * k), &s[k], &q[k]);
        flush4(s, &s0, &s1), flush4(q, &q0, &q1);
    }
    double a = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
    *sdy += a;
    *sdyx += _mm512_reduce_add_pd(_mm512_add_pd(q0, q1)) + ((double)mf - m) * a;
}

TGT static void bnr_dz_avx512(const float *z, const float *da, int L, float m, float sc, float sh, float ka, float kb,
                              float kc, float *dz) {
    const __m512 mv = _mm512_set1_ps(m), kav = _mm512_set1_ps(ka), scv = _mm512_set1_ps(sc), shv = _mm512_set1_ps(sh);
    const __m512 kbv = _mm512_set1_ps(kb), kcv = _mm512_set1_ps(kc);
    for (int l = 0; l < L; l += 16) {
        __mmask16 t = tail_mask(L - l);
        __m512 dv = _mm512_maskz_loadu_ps(t, da + l), zv = _mm512_maskz_loadu_ps(t, z + l);
        __m512 d = _mm512_maskz_mov_ps(bnr_on(zv, mv, scv, shv), dv);
        /* same operations and order as batchnorm's dx: ka d + kb (z - m) + kc */
        __m512 r = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(kav, d), _mm512_mul_ps(kbv, _mm512_sub_ps(zv, mv))), kcv);
        _mm512_mask_storeu_ps(dz + l, t, r);
    }
}
#endif

#if HAVE_AVX512_KERNELS
/* batchnorm's run sums with the lane layout of norm.c's run_sums / run_dsums: element l in
 * float lane l % 64 (four chains of 16: products then sums, no fused multiply-add), folded to
 * 16 lanes ((0 + 1) + (2 + 3)) and flushed into double lanes every MTL_BN_FLUSH elements,
 * the double lanes added in order at the end: bit-identical. Without w: sums of d = r - k and
 * d^2 (k a float value); with w: sums of r and r (w - kf), kf = (float)k, and the second
 * corrected to k by (kf - k) sum r. */
INL void bn_sums_step(const float *r, const float *w, __m512 kv, __mmask16 t, __m512 *a, __m512 *b) {
    __m512 rv = _mm512_maskz_loadu_ps(t, r);
    if (!w) {
        __m512 d = _mm512_maskz_sub_ps(t, rv, kv);
        *a = _mm512_add_ps(*a, d);
        *b = _mm512_add_ps(*b, _mm512_mul_ps(d, d));
    } else {
        __m512 d = _mm512_maskz_sub_ps(t, _mm512_maskz_loadu_ps(t, w), kv);
        *a = _mm512_add_ps(*a, rv);
        *b = _mm512_add_ps(*b, _mm512_mul_ps(rv, d));
    }
}

TGT static void bn_sums_avx512(const float *r, const float *w, int L, double k, double *s1, double *s2,
                               double *lanes) {
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, b0 = a0, b1 = a0;
    const float kf = (float)k;
    const __m512 kv = _mm512_set1_ps(kf);
    for (int l0 = 0; l0 < L; l0 += MTL_BN_FLUSH) {
        int l1 = L - l0 < MTL_BN_FLUSH ? L : l0 + MTL_BN_FLUSH;
        __m512 a[4], b[4];
        for (int q = 0; q < 4; q++) a[q] = b[q] = _mm512_setzero_ps();
        int l = l0;
        for (; l + 64 <= l1; l += 64)
            for (int q = 0; q < 4; q++)
                bn_sums_step(r + l + 16 * q, w ? w + l + 16 * q : NULL, kv, 0xFFFF, &a[q], &b[q]);
        for (int q = 0; q < 4; q++) /* the tail: masked (constant indices: the sums stay in registers) */
            if (l + 16 * q < l1)
                bn_sums_step(r + l + 16 * q, w ? w + l + 16 * q : NULL, kv, tail_mask(l1 - l - 16 * q), &a[q], &b[q]);
        flush4(a, &a0, &a1), flush4(b, &b0, &b1);
    }
    if (lanes) { /* the 16 + 16 lane sums themselves, for the caller to add in order */
        _mm512_storeu_pd(lanes, a0), _mm512_storeu_pd(lanes + 8, a1);
        _mm512_storeu_pd(lanes + 16, b0), _mm512_storeu_pd(lanes + 24, b1);
        return;
    }
    double a[16], b[16], sa = 0.0;
    _mm512_storeu_pd(a, a0), _mm512_storeu_pd(a + 8, a1), _mm512_storeu_pd(b, b0), _mm512_storeu_pd(b + 8, b1);
    for (int j = 0; j < 16; j++) *s1 += a[j], *s2 += b[j], sa += a[j];
    if (w) *s2 += ((double)kf - k) * sa;
}
#endif

void mtl__bn_run_lanes(const float *r, int L, double k, double *lanes) {
#if HAVE_AVX512_KERNELS
    bn_sums_avx512(r, NULL, L, k, NULL, NULL, lanes);
#else
    (void)r, (void)L, (void)k, (void)lanes;
#endif
}

bool mtl__bn_run_sums(const float *r, int L, double k, double *sum, double *sq) {
#if HAVE_AVX512_KERNELS
    if (!mtl__conv_fast_available()) return false;
    bn_sums_avx512(r, NULL, L, k, sum, sq, NULL);
    return true;
#else
    (void)r, (void)L, (void)k, (void)sum, (void)sq;
    return false;
#endif
}

bool mtl__bn_run_dsums(const float *dy, const float *x, int L, double m, double *sdy, double *sdyx) {
#if HAVE_AVX512_KERNELS
    if (!mtl__conv_fast_available()) return false;
    bn_sums_avx512(dy, x, L, m, sdy, sdyx, NULL);
    return true;
#else
    (void)dy, (void)x, (void)L, (void)m, (void)sdy, (void)sdyx;
    return false;
#endif
}

void mtl__bnr_sums(const float *z, const float *da, int L, double m, float mf, float sc, float sh, double *sdy,
                   double *sdyx) {
#if HAVE_AVX512_KERNELS
    bnr_sums_avx512(z, da, L, m, mf, sc, sh, sdy, sdyx);
#else
    (void)z, (void)da, (void)L, (void)m, (void)mf, (void)sc, (void)sh, (void)sdy, (void)sdyx;
#endif
}

void mtl__bnr_dz(const float *z, const float *da, int L, float m, float sc, float sh, float ka, float kb, float kc,
                 float *dz) {
#if HAVE_AVX512_KERNELS
    bnr_dz_avx512(z, da, L, m, sc, sh, ka, kb, kc, dz);
#else
    (void)z, (void)da, (void)L, (void)m, (void)sc, (void)sh, (void)ka, (void)kb, (void)kc, (void)dz;
#endif
}

/* ---- batchnorm + relu + max-pooling, training (fused.c's pooled units) ------------
 * Windows of `pool` (2 or 4) adjacent positions, 16 windows per step: the taps are
 * separated with permutes so that lane j of tap vector k holds position pool*j + k. */

#if HAVE_AVX512_KERNELS
/* taps of 16 windows starting at z (16 * pool floats) */
INL void pool_taps(const float *z, int pool, __m512 tap[4]) {
    if (pool == 2) {
        const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
        const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
        __m512 a = _mm512_loadu_ps(z), b = _mm512_loadu_ps(z + 16);
        tap[0] = _mm512_permutex2var_ps(a, ev, b), tap[1] = _mm512_permutex2var_ps(a, od, b);
        return;
    }
    split4(_mm512_loadu_ps(z), _mm512_loadu_ps(z + 16), _mm512_loadu_ps(z + 32), _mm512_loadu_ps(z + 48), tap);
}

TGT static void bnr_pool_fwd_avx512(const float *z, int Lout, float m, float sc, float sh, int pool, float *y,
                                    float *zp, uint8_t *arg) {
    const int Lp = Lout / pool;
    const __m512 mv = _mm512_set1_ps(m), scv = _mm512_set1_ps(sc), shv = _mm512_set1_ps(sh), zero = _mm512_setzero_ps();
    int j = 0;
    for (; j + 16 <= Lp; j += 16) {
        __m512 tap[4];
        pool_taps(z + (size_t)j * pool, pool, tap);
        /* batchnorm's (z - m) sc + sh without fusing, then relu as max(0, v) (NaN and -0 kept) */
        __m512 best = _mm512_max_ps(zero, _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(tap[0], mv), scv), shv));
        __m512 bz = tap[0];
        __m512i at = _mm512_setzero_si512();
        for (int k = 1; k < pool; k++) {
            __m512 v = _mm512_max_ps(zero, _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(tap[k], mv), scv), shv));
            /* the first maximum on ties; a NaN wins (maxpool1d's rule) */
            __mmask16 take = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
            best = _mm512_mask_mov_ps(best, take, v);
            bz = _mm512_mask_mov_ps(bz, take, tap[k]);
            at = _mm512_mask_mov_epi32(at, take, _mm512_set1_epi32(k));
        }
        _mm512_storeu_ps(y + j, best);
        _mm512_storeu_ps(zp + j, bz);
        _mm_storeu_si128((__m128i *)(arg + j), _mm512_cvtepi32_epi8(at));
    }
    for (; j < Lp; j++) {
        float b = 0.0f, bz = 0.0f;
        int a = 0;
        for (int k = 0; k < pool; k++) {
            float zv = z[(size_t)j * pool + k], v = (zv - m) * sc + sh;
            v = v < 0.0f ? 0.0f : v;
            if (k == 0 || v > b || v != v) b = v, bz = zv, a = k;
        }
        y[j] = b, zp[j] = bz, arg[j] = (uint8_t)a;
    }
}

/* dz = (e + kb (z - m)) + kc with e = ka d at each window's maximum (d = y > 0 ? dy : 0),
 * else 0: batchnorm's input gradient in the same float operations as mtl__bnr_dz */
TGT static void bnr_pool_dz_avx512(const float *z, int Lout, const float *y, const float *dy, const uint8_t *arg,
                                   int pool, float m, float ka, float kb, float kc, float *dz) {
    const int Lp = Lout / pool;
    const __m512 mv = _mm512_set1_ps(m), kav = _mm512_set1_ps(ka), kbv = _mm512_set1_ps(kb), kcv = _mm512_set1_ps(kc);
    const __m512 zero = _mm512_setzero_ps();
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const int sh = pool == 2 ? 1 : 2;
    const __m512i win = _mm512_srlv_epi32(lane, _mm512_set1_epi32(sh)); /* window of each lane within a vector */
    const __m512i tap = _mm512_and_si512(lane, _mm512_set1_epi32(pool - 1));
    int j = 0;
    for (; j + 16 <= Lp; j += 16) {
        __m512 yv = _mm512_loadu_ps(y + j), dv = _mm512_loadu_ps(dy + j);
        __m512 kd = _mm512_mul_ps(kav, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(yv, zero, _CMP_GT_OQ), dv));
        __m512i av = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(arg + j)));
        for (int q = 0; q < pool; q++) {
            __m512i idx = _mm512_add_epi32(win, _mm512_set1_epi32(q * (16 >> sh)));
            __mmask16 hit = _mm512_cmpeq_epi32_mask(_mm512_permutexvar_epi32(idx, av), tap);
            __m512 e = _mm512_maskz_mov_ps(hit, _mm512_permutexvar_ps(idx, kd));
            size_t l = (size_t)j * pool + 16 * (size_t)q;
            __m512 zv = _mm512_loadu_ps(z + l);
            _mm512_storeu_ps(dz + l, _mm512_add_ps(_mm512_add_ps(e, _mm512_mul_ps(kbv, _mm512_sub_ps(zv, mv))), kcv));
        }
    }
    for (int l = j * pool; l < Lout; l++) {
        int w = l / pool;
        float e = 0.0f;
        if (w < Lp && arg[w] == l - w * pool) e = ka * (y[w] > 0.0f ? dy[w] : 0.0f);
        dz[l] = (e + kb * (z[l] - m)) + kc;
    }
}
#endif

void mtl__bnr_pool_fwd(const float *z, int Lout, float m, float sc, float sh, int pool, float *y, float *zp,
                       uint8_t *arg) {
#if HAVE_AVX512_KERNELS
    bnr_pool_fwd_avx512(z, Lout, m, sc, sh, pool, y, zp, arg);
#else
    (void)z, (void)Lout, (void)m, (void)sc, (void)sh, (void)pool, (void)y, (void)zp, (void)arg;
#endif
}

void mtl__bnr_pool_dz(const float *z, int Lout, const float *y, const float *dy, const uint8_t *arg, int pool, float m,
                      float ka, float kb, float kc, float *dz) {
#if HAVE_AVX512_KERNELS
    bnr_pool_dz_avx512(z, Lout, y, dy, arg, pool, m, ka, kb, kc, dz);
#else
    (void)z, (void)Lout, (void)y, (void)dy, (void)arg, (void)pool, (void)m, (void)ka, (void)kb, (void)kc, (void)dz;
#endif
}
