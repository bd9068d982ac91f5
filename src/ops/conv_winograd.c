/* 1-D Winograd convolutions F(4, K), K = 3, 5, 7 (scripts/gen_winograd_tables.py has the
 * transforms): 4 outputs of a row from K + 3 inputs take K + 3 products per (input, output)
 * channel pair where the direct kernel takes 4 K, so the multiply work of MTAGN's trunk
 * convolutions drops by 2.8x (K = 7), 2.5x (K = 5) and 2x (K = 3). The transforms cost
 * additions and shuffles, and the result differs from the direct sum by rounding only (a few
 * times the direct kernel's; tests/test_ops_winograd.c bounds it).
 *
 * Forward (and input gradient), per group of 16 tiles (64 output positions), positions in
 * vector lanes:
 *  1. per input channel: the K + 3 taps of each tile (a 4-way split of the row and lane
 *     shifts), transformed: V[c][p] = sum_i BT[p][i] tap_i, into a small buffer (L1);
 *  2. per block of `ob` output rows: M[p][o] = sum_c U[p][o][c] V[c][p] in registers
 *     (U = G w, transformed once per call), then the 4 outputs of each tile
 *     y_j = sum_p AT[j][p] M[p], joined back into rows and stored.
 * Weight gradient: dw = G^T dU with dU[p][o][c] = sum over tiles of D[p][o] V[p][c], D the
 * output transform transposed applied to dy; V is transposed (tiles x channels) so that the
 * channels sit in the lanes and the sums over tiles need no reduction across lanes.
 * Pairs of points +a, -a share one even and one odd sum in every transform. The input is
 * read in place: the zero padding and the row's end are masked loads, the last group's
 * outputs masked stores. */
#include "ops/conv_winograd.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ops/avx512.h"
#include "ops/conv_fast.h"
#include "ops/conv_winograd_tables.h"

#define WG_NMAX 10 /* K + 3 for K = 7 */
#define WG_OBMAX 4 /* the largest of WG_OB7, WG_OB5, WG_OB3 */
/* the forward's stores: y =, y +=, y = max(0, .) */
enum { WG_STORE, WG_ADD, WG_RELU };
#define WG_DW_BUDGET (48 * 1024) /* floats of V and D per chunk of groups: 192 KB */
#define WG_OB7 3 /* output rows per forward block: n ob accumulators, 24 to 30 of the 32 registers */
#define WG_OB5 3
#define WG_OB3 4
/* the transforms and register blocks are loops over constants: fully unrolled, their arrays
 * live in registers and the table entries fold into the instructions */
#define WG_UNROLL _Pragma("GCC unroll 16")

static int wg_n(int K) { return K + 3; }
static int wg_ob(int K) { return K == 7 ? WG_OB7 : K == 5 ? WG_OB5 : WG_OB3; }

static const double *wg_g(int K) { return K == 3 ? &wino_g3[0][0] : K == 5 ? &wino_g5[0][0] : &wino_g7[0][0]; }
static const float *wg_bt(int K) { return K == 3 ? &wino_bt3[0][0] : K == 5 ? &wino_bt5[0][0] : &wino_bt7[0][0]; }
static const float *wg_at(int K) { return K == 3 ? &wino_at3[0][0] : K == 5 ? &wino_at5[0][0] : &wino_at7[0][0]; }
static int wg_cpad(int Cin) { return (Cin + 15) / 16 * 16; } /* the weight gradient's channels, in whole vectors */

bool mtl__wino_ok(int Cin, int Cout, int K, int Lout) {
    if (!(K == 3 || K == 5 || K == 7) || Cin < 8 || Cout < 8 || Lout < 64 || !mtl__conv_fast_available())
        return false;
    /* -1: not checked yet; atomic: the first call may come from inside a parallel region */
    static _Atomic int state = -1;
    int s = atomic_load_explicit(&state, memory_order_relaxed);
    if (s < 0) {
        const char *env = getenv("MTL_WINOGRAD");
        s = !(env && !strcmp(env, "0"));
        atomic_store_explicit(&state, s, memory_order_relaxed);
    }
    return s == 1;
}

size_t mtl__wino_u_floats(int Cin, int Cout, int K) {
    int ob = wg_ob(K);
    return (size_t)((Cout + ob - 1) / ob) * ob * Cin * wg_n(K);
}

size_t mtl__wino_v_floats(int Cin, int K) { return (size_t)Cin * wg_n(K) * 16; }

/* U[block b][c][p][r] = sum_k G[p][k] w[b ob + r][c][k] (in double, rounded once); rows past
 * Cout in the last block are 0. Per K with the table's constants folded: the n sums of a
 * weight row are independent, and this runs on every call (inference of one window too). */
static inline __attribute__((always_inline)) void wg_weights(const float *w, int Cin, int K, int Cout, float *U) {
    const double *g = wg_g(K);
    const int n = wg_n(K), ob = wg_ob(K), nb = (Cout + ob - 1) / ob;
    for (int b = 0; b < nb; b++)
        for (int r = 0; r < ob; r++) {
            int o = b * ob + r;
            for (int c = 0; c < Cin; c++) {
                float *u = U + ((size_t)b * Cin + c) * n * ob + r;
                if (o >= Cout) {
                    for (int p = 0; p < n; p++) u[p * ob] = 0.0f;
                    continue;
                }
                double wk[7];
                WG_UNROLL
                for (int k = 0; k < K; k++) wk[k] = w[((size_t)o * Cin + c) * K + k];
                WG_UNROLL
                for (int p = 0; p < n; p++) {
                    double s = 0.0;
                    WG_UNROLL
                    for (int k = 0; k < K; k++)
                        if (g[p * K + k] != 0.0) s += g[p * K + k] * wk[k];
                    u[p * ob] = (float)s;
                }
            }
        }
}
static void wg_weights3(const float *w, int Cin, int Cout, float *U) { wg_weights(w, Cin, 3, Cout, U); }
static void wg_weights5(const float *w, int Cin, int Cout, float *U) { wg_weights(w, Cin, 5, Cout, U); }
static void wg_weights7(const float *w, int Cin, int Cout, float *U) { wg_weights(w, Cin, 7, Cout, U); }

void mtl__wino_weights(const float *w, int Cin, int K, int Cout, float *U) {
    if (K == 3) wg_weights3(w, Cin, Cout, U);
    else if (K == 5) wg_weights5(w, Cin, Cout, U);
    else wg_weights7(w, Cin, Cout, U);
}

#if HAVE_AVX512_KERNELS
/* s += c v with the constant c folded: nothing for 0, an add or a subtraction for +-1 */
INL void wg_term(__m512 *s, bool *any, float c, __m512 v) {
    if (c == 0.0f) return;
    const __m512 cv = _mm512_set1_ps(c);
    if (!*any) *s = c == 1.0f ? v : c == -1.0f ? _mm512_sub_ps(_mm512_setzero_ps(), v) : _mm512_mul_ps(cv, v);
    else *s = c == 1.0f ? _mm512_add_ps(*s, v) : c == -1.0f ? _mm512_sub_ps(*s, v) : _mm512_fmadd_ps(cv, v, *s);
    *any = true;
}

/* acc + v *u with the broadcast of *u inside the multiply-add: one load of v serves a block's
 * rows (the compiler would rather read v from memory once per row, twice the loads) */
INL __m512 wg_fma_bcast(__m512 v, const float *u, __m512 acc) {
    __asm__("vfmadd231ps %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(v), "m"(*u));
    return acc;
}

/* sum of row[i] X[i] over the i of parity par (0 even, 1 odd, -1 all) */
INL __m512 wg_lin(const __m512 *X, const float *row, int n, int par) {
    __m512 s = _mm512_setzero_ps();
    bool any = false;
    WG_UNROLL
    for (int i = 0; i < n; i++)
        if (par < 0 || (i & 1) == par) wg_term(&s, &any, row[i], X[i]);
    return s;
}

/* 16 floats of a row from position lo (lanes outside [0, len) zero; no address outside the row
 * is formed) */
INL __m512 wg_row_load(const float *row, int lo, int len) {
    if (lo >= 0) return lo >= len ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(tail_mask(len - lo), row + lo);
    if (lo <= -16) return _mm512_setzero_ps();
    /* the left padding: row[0 ..] moved up by -lo lanes */
    __m512i idx = _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                   _mm512_set1_epi32(lo));
    return _mm512_maskz_permutexvar_ps((__mmask16)~tail_mask(-lo), idx,
                                       _mm512_maskz_loadu_ps(tail_mask(len), row));
}

/* the n taps of 16 tiles whose first input is row[start]: X[i] lane j = row[start + 4 j + i],
 * 0 outside [0, len) (the zero padding is not stored) */
INL void wg_taps(const float *row, int start, int len, int n, __m512 X[WG_NMAX]) {
    __m512 v[5];
    if (start >= 0 && start + 80 <= len) {
        WG_UNROLL
        for (int q = 0; q < 5; q++) v[q] = _mm512_loadu_ps(row + start + 16 * q);
        if (start + 208 <= len) /* the next group's row into cache while this one computes (rows read in
                                   place are many streams at once, more than the prefetchers follow) */
            WG_UNROLL
            for (int q = 0; q < 4; q++) _mm_prefetch((const char *)(row + start + 80 + 16 * q), _MM_HINT_T0);
    } else {
        WG_UNROLL
        for (int q = 0; q < 5; q++) v[q] = wg_row_load(row, start + 16 * q, len);
    }
    split4(v[0], v[1], v[2], v[3], X);
    WG_UNROLL
    for (int i = 4; i < n; i++) {
        int k = i & 3, q = i >> 2; /* X[i] = X[k] shifted by q lanes, the vacated lanes from v[4] */
        int t[16];
        WG_UNROLL
        for (int l = 0; l < 16; l++) t[l] = l + q < 16 ? l + q : 16 + k + 4 * (l + q - 16);
        X[i] = _mm512_permutex2var_ps(X[k], _mm512_loadu_si512(t), v[4]);
    }
}

/* V[p] = sum_i BT[p][i] X[i] for the n points (rows: 0, pairs +a -a, infinity) into v[p * ps] */
INL void wg_in(const __m512 *X, const float *bt, int n, float *v, size_t ps) {
    _mm512_storeu_ps(v, wg_lin(X, bt, n, -1));
    WG_UNROLL
    for (int p = 1; p < n - 1; p += 2) { /* the -a row is the +a row with odd columns negated */
        __m512 e = wg_lin(X, bt + p * n, n, 0), o = wg_lin(X, bt + p * n, n, 1);
        _mm512_storeu_ps(v + p * ps, _mm512_add_ps(e, o));
        _mm512_storeu_ps(v + (p + 1) * ps, _mm512_sub_ps(e, o));
    }
    _mm512_storeu_ps(v + (n - 1) * ps, wg_lin(X, bt + (n - 1) * n, n, -1));
}

/* the 4 output phases Y[j] = sum_p AT[j][p] M[p] */
INL void wg_out(const __m512 *M, const float *at, int n, __m512 Y[4]) {
    __m512 T[WG_NMAX]; /* pairs as sum (at p) and difference (at p + 1): the -a column is the +a
                          column with odd rows negated */
    T[0] = M[0], T[n - 1] = M[n - 1];
    WG_UNROLL
    for (int p = 1; p < n - 1; p += 2) T[p] = _mm512_add_ps(M[p], M[p + 1]), T[p + 1] = _mm512_sub_ps(M[p], M[p + 1]);
    WG_UNROLL
    for (int j = 0; j < 4; j++) {
        const float *row = at + j * n;
        __m512 s = _mm512_setzero_ps();
        bool any = false;
        wg_term(&s, &any, row[0], T[0]);
        WG_UNROLL
        for (int p = 1; p < n - 1; p += 2) wg_term(&s, &any, row[p], T[p + (j & 1)]);
        wg_term(&s, &any, row[n - 1], T[n - 1]);
        Y[j] = s;
    }
}

/* ob output rows (at y, 64 positions) from the group's V: the products summed over the input
 * channels per point, then the output transform */
INL void wg_block(const float *vg, const float *ub, int Cin, int n, int OBK, int ob, const float *at,
                  const float *bias, int mode, float *y, int ldy, int nvalid) {
    __m512 m[WG_NMAX][WG_OBMAX];
    WG_UNROLL
    for (int p = 0; p < n; p++)
        WG_UNROLL
        for (int r = 0; r < ob; r++) m[p][r] = _mm512_setzero_ps();
    for (int c = 0; c < Cin; c++) {
        const float *vc = vg + (size_t)c * n * 16, *uc = ub + (size_t)c * n * OBK;
        WG_UNROLL
        for (int p = 0; p < n; p++) {
            __m512 v = _mm512_loadu_ps(vc + p * 16);
            WG_UNROLL
            for (int r = 0; r < ob; r++) m[p][r] = wg_fma_bcast(v, uc + p * OBK + r, m[p][r]);
        }
    }
    WG_UNROLL
    for (int r = 0; r < ob; r++) {
        __m512 M[WG_NMAX], Y[4], out[4];
        WG_UNROLL
        for (int p = 0; p < n; p++) M[p] = m[p][r];
        wg_out(M, at, n, Y);
        if (bias) {
            __m512 b = _mm512_set1_ps(bias[r]);
            WG_UNROLL
            for (int j = 0; j < 4; j++) Y[j] = _mm512_add_ps(Y[j], b);
        }
        if (mode == WG_RELU) {
            WG_UNROLL
            for (int j = 0; j < 4; j++) Y[j] = _mm512_max_ps(Y[j], _mm512_setzero_ps());
        }
        join4(Y, out);
        float *yr = y + (size_t)r * ldy;
        WG_UNROLL
        for (int q = 0; q < 4; q++) {
            if (nvalid < 64) { /* the row's last group: only its outputs */
                if (nvalid <= 16 * q) break;
                __mmask16 mk = tail_mask(nvalid - 16 * q);
                if (mode == WG_ADD) out[q] = _mm512_add_ps(out[q], _mm512_maskz_loadu_ps(mk, yr + 16 * q));
                _mm512_mask_storeu_ps(yr + 16 * q, mk, out[q]);
                continue;
            }
            if (mode == WG_ADD) out[q] = _mm512_add_ps(out[q], _mm512_loadu_ps(yr + 16 * q));
            _mm512_storeu_ps(yr + 16 * q, out[q]);
        }
    }
}

INL void wg_fwd(const float *x, int ldx, int lpad, int len, const float *U, int Cin, int K, int Cout,
                const float *bias, int mode, float *y, int ldy, int Lout, float *vbuf) {
    const int n = K + 3, OBK = K == 7 ? WG_OB7 : K == 5 ? WG_OB5 : WG_OB3;
    const float *bt = wg_bt(K), *at = wg_at(K);
    const size_t us = (size_t)Cin * n * OBK; /* floats of U per block */
    for (int j0 = 0; j0 < Lout; j0 += 64) {
        int nv = Lout - j0 < 64 ? Lout - j0 : 64;
        for (int c = 0; c < Cin; c++) {
            __m512 X[WG_NMAX];
            wg_taps(x + (size_t)c * ldx, j0 - lpad, len, n, X);
            wg_in(X, bt, n, vbuf + (size_t)c * n * 16, 16);
        }
        int o = 0;
        const float *ub = U;
        for (; o + OBK <= Cout; o += OBK, ub += us)
            wg_block(vbuf, ub, Cin, n, OBK, OBK, at, bias ? bias + o : NULL, mode, y + (size_t)o * ldy + j0, ldy, nv);
        const float *bo = bias ? bias + o : NULL;
        float *yo = y + (size_t)o * ldy + j0;
        switch (Cout - o) { /* the last rows */
        case 1: wg_block(vbuf, ub, Cin, n, OBK, 1, at, bo, mode, yo, ldy, nv); break;
        case 2: wg_block(vbuf, ub, Cin, n, OBK, 2, at, bo, mode, yo, ldy, nv); break;
        case 3: wg_block(vbuf, ub, Cin, n, OBK, 3, at, bo, mode, yo, ldy, nv); break;
        case 4: wg_block(vbuf, ub, Cin, n, OBK, 4, at, bo, mode, yo, ldy, nv); break;
        default: break;
        }
    }
}

#define WG_FWD_FN(K_)                                                                                          \
    TGT static void wg_fwd##K_(const float *x, int ldx, int lpad, int len, const float *U, int Cin, int Cout,   \
                               const float *bias, int mode, float *y, int ldy, int Lout, float *vbuf) {        \
        wg_fwd(x, ldx, lpad, len, U, Cin, K_, Cout, bias, mode, y, ldy, Lout, vbuf);                            \
    }
WG_FWD_FN(3)
WG_FWD_FN(5)
WG_FWD_FN(7)

/* ---- weight gradient ------------------------------------------------------------ */

/* D[p] = sum_j AT[j][p] ph[j] (the output transform transposed) into d[p * ps] */
INL void wg_dyt(const __m512 ph[4], const float *at, int n, float *d, size_t ps) {
    __m512 s = _mm512_setzero_ps();
    bool any = false;
    WG_UNROLL
    for (int j = 0; j < 4; j++) wg_term(&s, &any, at[j * n], ph[j]);
    _mm512_storeu_ps(d, s);
    WG_UNROLL
    for (int p = 1; p < n - 1; p += 2) { /* the -a column is the +a column with odd rows negated */
        __m512 e = _mm512_setzero_ps(), o = e;
        bool ae = false, ao = false;
        WG_UNROLL
        for (int j = 0; j < 4; j += 2) {
            wg_term(&e, &ae, at[j * n + p], ph[j]);
            wg_term(&o, &ao, at[(j + 1) * n + p], ph[j + 1]);
        }
        _mm512_storeu_ps(d + p * ps, _mm512_add_ps(e, o));
        _mm512_storeu_ps(d + (p + 1) * ps, _mm512_sub_ps(e, o));
    }
    s = _mm512_setzero_ps(), any = false;
    WG_UNROLL
    for (int j = 0; j < 4; j++) wg_term(&s, &any, at[j * n + n - 1], ph[j]);
    _mm512_storeu_ps(d + (n - 1) * ps, s);
}

/* the 16 x 16 transpose of r[0..15] (row i lane j -> row j lane i) */
INL void wg_transpose16(__m512 r[16]) {
    __m512 t[16];
    WG_UNROLL
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    WG_UNROLL
    for (int i = 0; i < 16; i += 4)
        WG_UNROLL
        for (int k = 0; k < 2; k++) { /* t[i + k], t[i + k + 2]: columns 4 b + 2 k and 4 b + 2 k + 1 */
            __m512d a = _mm512_castps_pd(t[i + k]), b = _mm512_castps_pd(t[i + k + 2]);
            r[i + 2 * k] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
            r[i + 2 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        }
    /* now r[4 q + k] holds, per 128-bit block b, the 4 x 4 block (rows 4 q .. 4 q + 3, columns
     * 4 b + k): gather the blocks */
    WG_UNROLL
    for (int k = 0; k < 4; k++) {
        __m512 a0 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88), a1 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xDD);
        __m512 b0 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
        __m512 b1 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xDD);
        t[k] = _mm512_shuffle_f32x4(a0, b0, 0x88), t[8 + k] = _mm512_shuffle_f32x4(a0, b0, 0xDD);
        t[4 + k] = _mm512_shuffle_f32x4(a1, b1, 0x88), t[12 + k] = _mm512_shuffle_f32x4(a1, b1, 0xDD);
    }
    WG_UNROLL
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

/* ob rows x cv vectors of 16 channels of one point: dU[o][c] += sum over the nt tiles of
 * D[o][t] Vt[t][c] (the channels in lanes: no reduction across lanes) */
INL void wg_dwt_block(const float *dp, size_t ldd, const float *vt, int cpad, int nt, int ob, int cv, double *du) {
    __m512 a[16][4];
    WG_UNROLL
    for (int r = 0; r < ob; r++)
        WG_UNROLL
        for (int q = 0; q < cv; q++) a[r][q] = _mm512_setzero_ps();
    for (int t = 0; t < nt; t++) {
        __m512 v[4];
        WG_UNROLL
        for (int q = 0; q < cv; q++) v[q] = _mm512_loadu_ps(vt + (size_t)t * cpad + 16 * q);
        WG_UNROLL
        for (int r = 0; r < ob; r++)
            WG_UNROLL
            for (int q = 0; q < cv; q++) a[r][q] = wg_fma_bcast(v[q], dp + r * ldd + t, a[r][q]);
    }
    WG_UNROLL
    for (int r = 0; r < ob; r++)
        WG_UNROLL
        for (int q = 0; q < cv; q++) { /* into the double sums: the chunks of a call add up exactly enough */
            double *d = du + (size_t)r * cpad + 16 * q;
            _mm512_storeu_pd(d, _mm512_add_pd(_mm512_loadu_pd(d), lo_pd(a[r][q])));
            _mm512_storeu_pd(d + 8, _mm512_add_pd(_mm512_loadu_pd(d + 8), hi_pd(a[r][q])));
        }
}

/* all rows of one point for channel vectors [q0, q0 + cv): blocks of the most rows that fit the
 * registers, then single rows */
INL void wg_dwt_rows(const float *dp, size_t ldd, const float *vt, int cpad, int nt, int cv, int Cout, double *du) {
    const int obm = cv == 1 ? 16 : cv == 2 ? 12 : cv == 3 ? 8 : 6;
    int o = 0;
    for (; o + obm <= Cout; o += obm) wg_dwt_block(dp + o * ldd, ldd, vt, cpad, nt, obm, cv, du + (size_t)o * cpad);
    for (; o < Cout; o++) wg_dwt_block(dp + o * ldd, ldd, vt, cpad, nt, 1, cv, du + (size_t)o * cpad);
}

/* the groups of 64 positions [v0, v0 + sv) of the samples (group v: sample v / gq, positions from
 * 64 (v % gq)): their V (transposed: tiles x channels) and D into the buffers, then every
 * point's products into the sums dU [n][Cout][cpad] */
INL void wg_dw_group(const float *x, int ldx, int lpad, int len, const float *dy, int ldy, int Lout, int v0, int sv,
                     int Cout, int Cin, int K, bool with_b, double *du, float *dbl, float *Vt, float *D, int SVmax) {
    const int n = K + 3, gq = (Lout + 63) / 64, cpad = wg_cpad(Cin), T = SVmax * 16;
    const float *bt = wg_bt(K), *at = wg_at(K);
    const size_t dps = (size_t)Cout * SVmax * 16;
    float stage[WG_NMAX * 256] __attribute__((aligned(64))); /* [p][16 channels][16 tiles] */
    for (int v = 0; v < sv; v++) {
        int s = (v0 + v) / gq, j0 = 64 * ((v0 + v) % gq);
        for (int c0 = 0; c0 < cpad; c0 += 16) {
            for (int cc = 0; cc < 16; cc++) {
                if (c0 + cc >= Cin) {
                    for (int p = 0; p < n; p++) _mm512_storeu_ps(stage + p * 256 + cc * 16, _mm512_setzero_ps());
                    continue;
                }
                __m512 X[WG_NMAX];
                wg_taps(x + ((size_t)s * Cin + c0 + cc) * ldx, j0 - lpad, len, n, X);
                wg_in(X, bt, n, stage + cc * 16, 256);
            }
            for (int p = 0; p < n; p++) {
                __m512 r[16];
                WG_UNROLL
                for (int i = 0; i < 16; i++) r[i] = _mm512_load_ps(stage + p * 256 + i * 16);
                wg_transpose16(r);
                float *out = Vt + ((size_t)p * T + (size_t)v * 16) * cpad + c0;
                WG_UNROLL
                for (int i = 0; i < 16; i++) _mm512_storeu_ps(out + (size_t)i * cpad, r[i]);
            }
        }
        for (int o = 0; o < Cout; o++) {
            const float *r = dy + ((size_t)s * Cout + o) * ldy;
            __m512 a, b, c, d, ph[4];
            if (j0 + 64 <= Lout) {
                a = _mm512_loadu_ps(r + j0), b = _mm512_loadu_ps(r + j0 + 16);
                c = _mm512_loadu_ps(r + j0 + 32), d = _mm512_loadu_ps(r + j0 + 48);
            } else { /* the row's last group: zeros past Lout */
                a = wg_row_load(r, j0, Lout), b = wg_row_load(r, j0 + 16, Lout);
                c = wg_row_load(r, j0 + 32, Lout), d = wg_row_load(r, j0 + 48, Lout);
            }
            if (with_b) {
                float *bl = dbl + (size_t)o * 16;
                _mm512_storeu_ps(bl, _mm512_add_ps(_mm512_loadu_ps(bl), _mm512_add_ps(_mm512_add_ps(a, b),
                                                                                      _mm512_add_ps(c, d))));
            }
            split4(a, b, c, d, ph);
            wg_dyt(ph, at, n, D + ((size_t)o * SVmax + v) * 16, dps);
        }
    }
    for (int p = 0; p < n; p++) {
        const float *vt = Vt + (size_t)p * T * cpad, *dp = D + p * dps;
        double *dup = du + (size_t)p * Cout * cpad;
        /* channel vectors in chunks of at most 4 */
        for (int q0 = 0; q0 < cpad / 16; q0 += 4) {
            int cv = cpad / 16 - q0 < 4 ? cpad / 16 - q0 : 4;
            const float *vq = vt + 16 * q0;
            double *dq = dup + 16 * q0;
            if (cv == 1) wg_dwt_rows(dp, (size_t)SVmax * 16, vq, cpad, sv * 16, 1, Cout, dq);
            else if (cv == 2) wg_dwt_rows(dp, (size_t)SVmax * 16, vq, cpad, sv * 16, 2, Cout, dq);
            else if (cv == 3) wg_dwt_rows(dp, (size_t)SVmax * 16, vq, cpad, sv * 16, 3, Cout, dq);
            else wg_dwt_rows(dp, (size_t)SVmax * 16, vq, cpad, sv * 16, 4, Cout, dq);
        }
    }
}

#define WG_DW_FN(K_)                                                                                           \
    TGT static void wg_dw##K_(const float *x, int ldx, int lpad, int len, const float *dy, int ldy, int Lout,    \
                              int v0, int sv, int Cout, int Cin, bool with_b, double *du, float *dbl, float *Vt, \
                              float *D, int SVmax) {                                                            \
        wg_dw_group(x, ldx, lpad, len, dy, ldy, Lout, v0, sv, Cout, Cin, K_, with_b, du, dbl, Vt, D, SVmax);    \
    }
WG_DW_FN(3)
WG_DW_FN(5)
WG_DW_FN(7)
#endif

int mtl__wino_rows(int K) { return wg_ob(K); }

/* ---- weight gradient: samples per group and the buffer ---------------------------
 * buffer: the sums dU [n][Cout][cpad] in double (cpad: Cin rounded up to 16), the bias lane sums
 * [Cout][16], then Vt [n][SV * 16 tiles][cpad] and D [n][Cout][SV][16] of SV groups of 64
 * positions (of any samples) at a time */
/* groups of 64 positions whose V and D fill the budget */
static int wg_dw_vectors(int Cin, int Cout, int K) {
    int v = (int)(WG_DW_BUDGET / ((size_t)(wg_cpad(Cin) + Cout) * wg_n(K) * 16));
    return v < 1 ? 1 : v;
}

/* floats of the sums: dU in double, then the bias lanes */
static size_t wg_dw_sums(int Cin, int Cout, int K) {
    return 2 * (size_t)wg_n(K) * Cout * wg_cpad(Cin) + (size_t)Cout * 16;
}

size_t mtl__wino_dw_floats(int Cin, int Cout, int K) {
    return wg_dw_sums(Cin, Cout, K) + (size_t)wg_dw_vectors(Cin, Cout, K) * (wg_cpad(Cin) + Cout) * wg_n(K) * 16;
}

void mtl__wino_dw_begin(float *buf, int Cin, int Cout, int K) {
    memset(buf, 0, wg_dw_sums(Cin, Cout, K) * sizeof *buf);
}

void mtl__wino_dw_add(const float *x, int ldx, int lpad, int len, const float *dy, int ldy, int Lout, int N, int Cout,
                      int Cin, int K, bool with_b, float *buf) {
#if HAVE_AVX512_KERNELS
    const int SVmax = wg_dw_vectors(Cin, Cout, K), total = N * ((Lout + 63) / 64), n = wg_n(K);
    double *du = (double *)(void *)buf; /* buf: aligned for doubles (the callers' duty) */
    float *dbl = buf + 2 * (size_t)n * Cout * wg_cpad(Cin), *V = buf + wg_dw_sums(Cin, Cout, K);
    float *D = V + (size_t)n * wg_cpad(Cin) * SVmax * 16;
    for (int v0 = 0; v0 < total; v0 += SVmax) {
        int sv = total - v0 < SVmax ? total - v0 : SVmax;
        if (K == 3) wg_dw3(x, ldx, lpad, len, dy, ldy, Lout, v0, sv, Cout, Cin, with_b, du, dbl, V, D, SVmax);
        else if (K == 5) wg_dw5(x, ldx, lpad, len, dy, ldy, Lout, v0, sv, Cout, Cin, with_b, du, dbl, V, D, SVmax);
        else wg_dw7(x, ldx, lpad, len, dy, ldy, Lout, v0, sv, Cout, Cin, with_b, du, dbl, V, D, SVmax);
    }
#else
    (void)x, (void)ldx, (void)lpad, (void)len, (void)dy, (void)ldy, (void)Lout, (void)N, (void)Cout, (void)Cin;
    (void)K, (void)with_b, (void)buf;
#endif
}

/* dw += G^T dU (in double); db += the bias lane sums, added in lane order */
void mtl__wino_dw_end(const float *buf, int Cin, int Cout, int K, float *dw, float *db) {
    const double *g = wg_g(K);
    const int n = wg_n(K), cpad = wg_cpad(Cin);
    const double *du = (const double *)(const void *)buf;
    const float *dbl = buf + 2 * (size_t)n * Cout * cpad;
    for (int o = 0; o < Cout; o++)
        for (int c = 0; c < Cin; c++)
            for (int k = 0; k < K; k++) {
                double s = 0.0;
                for (int p = 0; p < n; p++) s += g[p * K + k] * du[((size_t)p * Cout + o) * cpad + c];
                dw[((size_t)o * Cin + c) * K + k] += (float)s;
            }
    for (int o = 0; o < Cout && db; o++) {
        double s = 0.0;
        for (int q = 0; q < 16; q++) s += dbl[(size_t)o * 16 + q];
        db[o] += (float)s;
    }
}


static void wg_fwd_rows(const float *x, int ldx, int lpad, int len, const float *w, const float *U, int Cin, int K,
                        int o0, int o1, const float *bias, int mode, float *y, int ldy, int Lout, float *vbuf) {
#if HAVE_AVX512_KERNELS
    if (!U) { /* padded rows (lpad 0) */
        if (mode == WG_RELU) mtl__conv_fast_fwd_relu(x, ldx, w, Cin, K, o0, o1, bias, y, ldy, Lout, 1);
        else mtl__conv_fast_fwd(x, ldx, w, Cin, K, o0, o1, bias, mode == WG_ADD, y, ldy, Lout);
        return;
    }
    int nr = o1 - o0;
    const float *Ub = U + (size_t)(o0 / wg_ob(K)) * wg_ob(K) * Cin * wg_n(K), *b = bias ? bias + o0 : NULL;
    float *yb = y + (size_t)o0 * ldy;
    if (K == 3) wg_fwd3(x, ldx, lpad, len, Ub, Cin, nr, b, mode, yb, ldy, Lout, vbuf);
    else if (K == 5) wg_fwd5(x, ldx, lpad, len, Ub, Cin, nr, b, mode, yb, ldy, Lout, vbuf);
    else wg_fwd7(x, ldx, lpad, len, Ub, Cin, nr, b, mode, yb, ldy, Lout, vbuf);
#else
    (void)x, (void)ldx, (void)lpad, (void)len, (void)w, (void)U, (void)Cin, (void)K, (void)o0, (void)o1, (void)bias;
    (void)mode, (void)y, (void)ldy, (void)Lout, (void)vbuf;
#endif
}

void mtl__wino_fwd(const float *x, int ldx, int lpad, int len, const float *w, const float *U, int Cin, int K, int o0,
                   int o1, const float *bias, bool accumulate, float *y, int ldy, int Lout, float *vbuf) {
    wg_fwd_rows(x, ldx, lpad, len, w, U, Cin, K, o0, o1, bias, accumulate ? WG_ADD : WG_STORE, y, ldy, Lout, vbuf);
}

void mtl__wino_fwd_relu(const float *x, int ldx, int lpad, int len, const float *w, const float *U, int Cin, int K,
                        int o0, int o1, const float *bias, float *y, int ldy, int Lout, float *vbuf) {
    wg_fwd_rows(x, ldx, lpad, len, w, U, Cin, K, o0, o1, bias, WG_RELU, y, ldy, Lout, vbuf);
}
