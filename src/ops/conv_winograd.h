/* 1-D Winograd convolutions F(4, K), K = 3, 5, 7, stride 1 (AVX-512; see conv_winograd.c).
 * Same row conventions as conv_fast.h: "xp" rows hold the zero-padded input so that output j,
 * tap k reads xp[c*ldx + j + k]. */
#ifndef MTL_OPS_CONV_WINOGRAD_H
#define MTL_OPS_CONV_WINOGRAD_H
#include <stdbool.h>
#include <stddef.h>

/* true when the Winograd kernels take this convolution (Cin -> Cout channels, kernel K, Lout
 * outputs per row) on this CPU; MTL_WINOGRAD=0 in the environment turns them off */
bool mtl__wino_ok(int Cin, int Cout, int K, int Lout);

/* floats of the transformed weights, and of the per-thread buffer of the forward */
size_t mtl__wino_u_floats(int Cin, int Cout, int K);
size_t mtl__wino_v_floats(int Cin, int K);

/* U = the transformed weights of w [Cout, Cin, K] (once per call of an op, not per sample) */
void mtl__wino_weights(const float *w, int Cin, int K, int Cout, float *U);

/* output rows per block of the kernel: a range of rows passed to mtl__wino_fwd starts at a
 * multiple of it */
int mtl__wino_rows(int K);

/* Input rows: row c of x at x + c*ldx holds len floats, read as if lpad zeros preceded them
 * and zeros followed (output j, tap k reads position j + k - lpad): the zero padding need
 * not be stored. */

/* y[o*ldy + j] (=, or += when accumulate) bias[o] + sum_{c,k} w[(o*Cin + c)*K + k] x[c, j + k - lpad]
 * for o in [o0, o1), j in [0, Lout). U from mtl__wino_weights(w, Cin, K, Cout of w) where
 * mtl__wino_ok holds, o0 a multiple of mtl__wino_rows(K), vbuf mtl__wino_v_floats floats.
 * U NULL: the direct kernel mtl__conv_fast_fwd, which needs padded rows (lpad 0, len at least
 * Lout + K - 1; vbuf unused). */
void mtl__wino_fwd(const float *x, int ldx, int lpad, int len, const float *w, const float *U, int Cin, int K, int o0,
                   int o1, const float *bias, bool accumulate, float *y, int ldy, int Lout, float *vbuf);
/* the same (no accumulation) with max(0, .) applied before the store */
void mtl__wino_fwd_relu(const float *x, int ldx, int lpad, int len, const float *w, const float *U, int Cin, int K,
                        int o0, int o1, const float *bias, float *y, int ldy, int Lout, float *vbuf);

/* The weight gradient: dw[(o*Cin + c)*K + k] += sum_{n,j} dy[n,o,j] x[n, c, j + k - lpad] and,
 * with_b, db[o] += sum_{n,j} dy[n,o,j], over samples Cin*ldx and Cout*ldy floats apart (dy rows:
 * Lout floats). In three steps so that a thread's calls share one reduction: begin (zero the
 * buffer of mtl__wino_dw_floats floats, which holds doubles: 8-byte aligned at least), add (any
 * number of times), end (dw and db += the sums; db may be NULL). Where mtl__wino_ok holds. */
size_t mtl__wino_dw_floats(int Cin, int Cout, int K);
void mtl__wino_dw_begin(float *buf, int Cin, int Cout, int K);
void mtl__wino_dw_add(const float *x, int ldx, int lpad, int len, const float *dy, int ldy, int Lout, int N, int Cout,
                      int Cin, int K, bool with_b, float *buf);
void mtl__wino_dw_end(const float *buf, int Cin, int Cout, int K, float *dw, float *db);
#endif
