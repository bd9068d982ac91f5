/* Direct 1-D convolution kernels for stride 1 (AVX-512, chosen at run time; see
 * conv_fast.c). Rows are runs of floats; "xp" is an input whose row c holds the
 * (zero-padded) input so that output j, tap k reads xp[c*ldx + j + k]. */
#ifndef MTL_OPS_CONV_FAST_H
#define MTL_OPS_CONV_FAST_H
#include <stdbool.h>
#include <stdint.h>

#define MTL_CONV_FAST_KMAX 7 /* largest kernel size with a weight-gradient kernel */
#define MTL_CONV_FAST_OB 8   /* output rows per block of the forward kernel */
#define MTL_BN_FLUSH 4096    /* batchnorm run sums: float lanes are flushed into double this often */

/* true when this CPU runs the kernels (AVX-512F; MTL_CONV_FAST=0 in the environment turns them off) */
bool mtl__conv_fast_available(void);

/* y[o*ldy + j] (=, or += when accumulate) bias[o] + sum_{c,k} w[(o*Cin + c)*K + k] xp[c*ldx + j + k]
 * for o in [o0, o1), j in [0, Lout); bias may be NULL. */
/* rows of x ([C, L]) with `pad` zeros on each side into xp: [C, L + 2 pad] */
void mtl__pad_rows(const float *x, int C, int L, int pad, float *xp);

void mtl__conv_fast_fwd(const float *xp, int ldx, const float *w, int Cin, int K, int o0, int o1, const float *bias,
                        bool accumulate, float *y, int ldy, int Lout);
/* the same (no accumulation) with max(0, .) applied before the store; pool 2 or 4 also
 * max-pools each row by that factor (y rows of ldy >= Lout / pool; Lout a multiple of 32) */
void mtl__conv_fast_fwd_relu(const float *xp, int ldx, const float *w, int Cin, int K, int o0, int o1,
                             const float *bias, float *y, int ldy, int Lout, int pool);

/* For samples n in [0, N) (x: [N, Cin, L]; dy: N blocks of Cout rows of stride ldy, Lout used,
 * Lout = L + 2 pad - K + 1): dw[(o*Cin + c)*K + k] += sum_{n,j} dy[n,o,j] x[n,c,j+k-pad] (zero
 * outside [0, L)), and, when db is not NULL, db[o] += sum_{n,j} dy[n,o,j].
 * K <= MTL_CONV_FAST_KMAX, pad <= K - 1. */
void mtl__conv_fast_dw(const float *x, int L, int pad, const float *dy, int ldy, int Lout, int N, int Cout, int Cin,
                       int K, float *dw, float *db);

/* The same with x given as zero-padded rows (xp: N blocks of Cin rows of stride ldx = Lout + K - 1,
 * output j and tap k reading xp[c*ldx + j + k]): no masked steps but the last. */
void mtl__conv_fast_dw_padded(const float *xp, int ldx, const float *dy, int ldy, int Lout, int N, int Cout, int Cin,
                              int K, float *dw, float *db);

/* Batchnorm + relu backward over one run of L floats of a channel, with d = da where the relu's
 * output is positive, i.e. where (z - mf) sc + sh > 0 in float (batchnorm's normalise, no fused
 * multiply-add: the same bits as its output y, which is not read):
 * sums: sdy += sum d, sdyx += sum d (z - m) (float lanes flushed into double every MTL_BN_FLUSH
 * positions; d (z - mf) corrected to m in double); dz: dz = ka d + kb (z - m) + kc. */
void mtl__bnr_sums(const float *z, const float *da, int L, double m, float mf, float sc, float sh, double *sdy,
                   double *sdyx);
void mtl__bnr_dz(const float *z, const float *da, int L, float m, float sc, float sh, float ka, float kb, float kc,
                 float *dz);
/* norm.c's run_sums and run_dsums (wide batchnorm statistics and gradient sums) with
 * AVX-512, bit-identical; false (nothing done) where the CPU lacks it. */
bool mtl__bn_run_sums(const float *r, int L, double k, double *sum, double *sq);
bool mtl__bn_run_dsums(const float *dy, const float *x, int L, double m, double *sdy, double *sdyx);
/* run_sums' 16 lane sums of d = r - k (lanes[0..15]) and d^2 (lanes[16..31]), not yet added:
 * adding them in order into the running sums reproduces run_sums exactly (AVX-512 only) */
void mtl__bn_run_lanes(const float *r, int L, double k, double *lanes);
/* Training batchnorm + relu + max-pooling by `pool` (2 or 4, windows = stride) of one row z of Lout
 * floats: y[j] = the window maximum of relu((z - m) sc + sh) (the first on ties, a NaN wins), zp[j]
 * the z value there and arg[j] its tap (0..pool-1); Lout / pool windows, the tail dropped. */
void mtl__bnr_pool_fwd(const float *z, int Lout, float m, float sc, float sh, int pool, float *y, float *zp,
                       uint8_t *arg);
/* Its batchnorm input gradient for the row: dz[l] = ka d + kb (z[l] - m) + kc with d = (y > 0 ? dy : 0)
 * of the window at its maximum (arg), 0 elsewhere and in the tail. */
void mtl__bnr_pool_dz(const float *z, int Lout, const float *y, const float *dy, const uint8_t *arg, int pool, float m,
                      float ka, float kb, float kc, float *dz);
#endif
