/* The Winograd convolution kernels (src/ops/conv_winograd.c) against sums in double: the
 * forward (padded rows and rows read in place, bias, accumulation, relu, ranges of output
 * rows, lengths that end in a partial group), the weight gradient over several calls, and
 * conv1d's gradients through them by finite differences. The bound is relative to the size of
 * the terms summed (Winograd rounds more than a direct sum; seen: up to 5e-7 for outputs, 3e-7
 * for weight gradients): 2e-6 and 1e-6. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ops/conv_winograd.h"

typedef struct {
    int Cin, Cout, K, L;
} wcase;

/* trunk shapes of MTAGN, odd channel counts (partial row blocks), a length with a tail, and
 * the smallest length taken */
static const wcase CASES[] = {
    {16, 16, 7, 256}, {16, 32, 5, 128}, {32, 16, 5, 128}, {32, 64, 3, 128}, {64, 64, 3, 64},
    {13, 11, 7, 100}, {9, 17, 5, 150},  {10, 8, 3, 70},
};

/* x as zero-padded rows for output length L, pad K/2 */
static float *padded_input(const wcase *c, int N, uint64_t seed, int *ldx) {
    int pad = c->K / 2;
    *ldx = c->L + 2 * pad;
    float *x = calloc((size_t)N * c->Cin * *ldx, sizeof *x);
    for (int r = 0; r < N * c->Cin; r++) th_fill(x + (size_t)r * *ldx + pad, c->L, seed + r, 0.0f, 2.0f);
    return x;
}

/* the same values with NaN where the padding was: read in place (lpad = pad, len = L), a read
 * outside the rows would show */
static float *nan_padded(const float *x, const wcase *c, int N, int ldx) {
    size_t n = (size_t)N * c->Cin * ldx;
    float *y = malloc(n * sizeof *y);
    int pad = c->K / 2;
    for (size_t i = 0; i < n; i++) {
        int j = (int)(i % (size_t)ldx);
        y[i] = j < pad || j >= pad + c->L ? NAN : x[i];
    }
    return y;
}

static void forward_matches_double(void) {
    for (size_t ci = 0; ci < sizeof CASES / sizeof *CASES; ci++) {
        const wcase *c = &CASES[ci];
        int ldx, N = 2, K = c->K, Cin = c->Cin, Cout = c->Cout, L = c->L;
        CHECK(mtl__wino_ok(Cin, Cout, K, L), "case %zu is a Winograd case", ci);
        float *x = padded_input(c, N, 100 + ci, &ldx), *xn_all = nan_padded(x, c, N, ldx);
        int pad = K / 2;
        size_t nw = (size_t)Cout * Cin * K;
        float *w = malloc(nw * sizeof *w), *b = malloc(Cout * sizeof *b);
        th_fill(w, (int64_t)nw, 200 + ci, -0.5f, 0.5f), th_fill(b, Cout, 300 + ci, -1.0f, 1.0f);
        float *U = malloc(mtl__wino_u_floats(Cin, Cout, K) * sizeof *U);
        float *V = malloc(mtl__wino_v_floats(Cin, K) * sizeof *V);
        float *y = malloc((size_t)N * Cout * L * sizeof *y), *want = malloc((size_t)N * Cout * L * sizeof *want);
        double worst = 0.0;
        mtl__wino_weights(w, Cin, K, Cout, U);
        /* 0: padded rows, bias; then x in place: 1 no bias, accumulate; 2 ranges of rows; 3 relu */
        for (int mode = 0; mode < 4; mode++) {
            th_fill(y, (int64_t)N * Cout * L, 400 + ci, -1.0f, 1.0f);
            memcpy(want, y, (size_t)N * Cout * L * sizeof *y);
            double bound = 0.0;
            for (int n = 0; n < N; n++) {
                const float *xn = x + (size_t)n * Cin * ldx, *xi = xn_all + (size_t)n * Cin * ldx + pad;
                float *yn = y + (size_t)n * Cout * L;
                if (mode == 0) {
                    mtl__wino_fwd(xn, ldx, 0, ldx, w, U, Cin, K, 0, Cout, b, false, yn, L, L, V);
                } else if (mode == 1) {
                    mtl__wino_fwd(xi, ldx, pad, L, w, U, Cin, K, 0, Cout, NULL, true, yn, L, L, V);
                } else if (mode == 3) {
                    mtl__wino_fwd_relu(xi, ldx, pad, L, w, U, Cin, K, 0, Cout, b, yn, L, L, V);
                } else { /* row blocks of the kernel's size, as a thread would take them */
                    int step = mtl__wino_rows(K) * 2;
                    for (int o0 = 0; o0 < Cout; o0 += step)
                        mtl__wino_fwd(xi, ldx, pad, L, w, U, Cin, K, o0, o0 + step < Cout ? o0 + step : Cout, b, false,
                                      yn, L, L, V);
                }
                for (int o = 0; o < Cout; o++)
                    for (int j = 0; j < L; j++) {
                        double s = mode == 1 ? want[((size_t)n * Cout + o) * L + j] : b[o], mag = fabs(s);
                        for (int ch = 0; ch < Cin; ch++)
                            for (int k = 0; k < K; k++) {
                                double t = (double)w[((size_t)o * Cin + ch) * K + k] * xn[(size_t)ch * ldx + j + k];
                                s += t, mag += fabs(t);
                            }
                        want[((size_t)n * Cout + o) * L + j] = (float)(mode == 3 && s < 0.0 ? 0.0 : s);
                        if (mag > bound) bound = mag;
                    }
            }
            for (int64_t i = 0; i < (int64_t)N * Cout * L; i++) {
                double d = fabs((double)y[i] - want[i]) / bound;
                if (!(d <= worst)) worst = d; /* NaN: a read outside the rows */
            }
        }
        printf("     forward %2d->%2d k%d L%-4d worst error %.2e of the summed magnitude\n", Cin, Cout, K, L, worst);
        CHECK(worst < 2e-6, "forward %d->%d k%d L%d: error %.2e of the summed magnitude (bound 2e-6)", Cin, Cout, K,
              L, worst);
        free(x), free(xn_all), free(w), free(b), free(U), free(V), free(y), free(want);
    }
}

static void weight_gradient_matches_double(void) {
    for (size_t ci = 0; ci < sizeof CASES / sizeof *CASES; ci++) {
        const wcase *c = &CASES[ci];
        int ldx, N = 9, K = c->K, Cin = c->Cin, Cout = c->Cout, L = c->L;
        CHECK(mtl__wino_ok(Cin, Cout, K, L), "case %zu is a Winograd case", ci);
        float *x = padded_input(c, N, 500 + ci, &ldx), *xi = nan_padded(x, c, N, ldx);
        float *dy = malloc((size_t)N * Cout * L * sizeof *dy);
        th_fill(dy, (int64_t)N * Cout * L, 600 + ci, -1.0f, 1.0f);
        size_t nw = (size_t)Cout * Cin * K;
        float *dw = malloc(nw * sizeof *dw), *db = malloc(Cout * sizeof *db);
        float *buf = malloc(mtl__wino_dw_floats(Cin, Cout, K) * sizeof *buf);
        for (size_t i = 0; i < nw; i++) dw[i] = 0.25f;
        for (int o = 0; o < Cout; o++) db[o] = -0.5f;
        mtl__wino_dw_begin(buf, Cin, Cout, K);
        for (int n0 = 0, g = 1; n0 < N; n0 += g, g++) { /* calls of 1, 2, 3, ... samples, padded rows and in place */
            int ns = N - n0 < g ? N - n0 : g;
            if (g & 1)
                mtl__wino_dw_add(x + (size_t)n0 * Cin * ldx, ldx, 0, ldx, dy + (size_t)n0 * Cout * L, L, L, ns, Cout,
                                 Cin, K, true, buf);
            else
                mtl__wino_dw_add(xi + (size_t)n0 * Cin * ldx + K / 2, ldx, K / 2, L, dy + (size_t)n0 * Cout * L, L, L,
                                 ns, Cout, Cin, K, true, buf);
        }
        mtl__wino_dw_end(buf, Cin, Cout, K, dw, db);
        double worst = 0.0, worst_b = 0.0;
        for (int o = 0; o < Cout; o++) {
            double sb = -0.5, mb = 0.5;
            for (int n = 0; n < N; n++)
                for (int j = 0; j < L; j++) sb += dy[((size_t)n * Cout + o) * L + j], mb += 1.0;
            double eb = fabs(db[o] - sb) / mb;
            if (!(eb <= worst_b)) worst_b = eb;
            for (int ch = 0; ch < Cin; ch++)
                for (int k = 0; k < K; k++) {
                    double s = 0.25, mag = 0.25;
                    for (int n = 0; n < N; n++)
                        for (int j = 0; j < L; j++) {
                            double t = (double)dy[((size_t)n * Cout + o) * L + j] *
                                       x[((size_t)n * Cin + ch) * ldx + j + k];
                            s += t, mag += fabs(t);
                        }
                    double e = fabs(dw[((size_t)o * Cin + ch) * K + k] - s) / mag;
                    if (!(e <= worst)) worst = e; /* NaN: a read outside the rows */
                }
        }
        printf("     weight gradient %2d->%2d k%d L%-4d worst error %.2e of the summed magnitude, bias %.2e\n", Cin,
               Cout, K, L, worst, worst_b);
        CHECK(worst < 1e-6, "weight gradient %d->%d k%d L%d: error %.2e of the summed magnitude (bound 1e-6)", Cin,
              Cout, K, L, worst);
        CHECK(worst_b < 1e-6, "bias gradient %d->%d k%d L%d: error %.2e", Cin, Cout, K, L, worst_b);
        free(x), free(xi), free(dy), free(dw), free(db), free(buf);
    }
}

typedef struct {
    int pad;
} conv_args;

static mtl_tensor *fw_conv(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const conv_args *a = ctx;
    return mtl_conv1d(t, in[0], in[1], in[2], 1, a->pad);
}

/* conv1d on shapes the Winograd kernels take (forward, input gradient, weight gradient) */
static void gradcheck_conv_winograd(void) {
    static const wcase cases[] = {{8, 8, 7, 64}, {8, 9, 5, 80}, {9, 8, 3, 64}};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const wcase *c = &cases[ci];
        int N = 2, nx = N * c->Cin * c->L, nw = c->Cout * c->Cin * c->K;
        float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), b[16];
        th_fill(x, nx, 700 + ci, -1, 1), th_fill(w, nw, 800 + ci, -0.5f, 0.5f), th_fill(b, c->Cout, 900 + ci, -1, 1);
        conv_args a = {c->K / 2};
        char name[64];
        snprintf(name, sizeof name, "conv1d %d->%d k%d L%d", c->Cin, c->Cout, c->K, c->L);
        th_gradcheck g = {.name = name, .n_in = 3, .data = {x, w, b},
                          .shape = {MTL_SHAPE(N, c->Cin, c->L), MTL_SHAPE(c->Cout, c->Cin, c->K), MTL_SHAPE(c->Cout)},
                          .check = {1, 1, 1}, .forward = fw_conv, .ctx = &a};
        th_gradcheck_run(&g);
        free(x), free(w);
    }
}

int main(void) {
    if (!mtl__wino_ok(16, 16, 7, 64)) { /* no AVX-512 (or MTL_WINOGRAD=0): nothing takes these kernels */
        printf("SKIP: the Winograd kernels are off (no AVX-512, or MTL_WINOGRAD=0): not run\n");
        return 77;
    }
    RUN(forward_matches_double);
    RUN(weight_gradient_matches_double);
    RUN(gradcheck_conv_winograd);
    return th_summary();
}
