/* Internals shared by the batchnorm op (norm.c) and the fused conv-batchnorm-relu op
 * (fused.c). */
#ifndef MTL_OPS_FUSED_H
#define MTL_OPS_FUSED_H
#include "autograd/tape_internal.h"

typedef struct {
    double *mean;   /* [C] statistics used to normalise (batch or running) */
    double *invstd; /* [C] 1 / sqrt(var + eps) */
} mtl__bn_stats;

/* batchnorm's (relu: batchnorm_relu's) forward without recording a node: checks the
 * arguments, normalises, updates the running statistics in training; *stats_out gets the
 * statistics used (in the tape's arena). batch_stats: NULL, or in training the batch mean
 * [C] then biased variance [C] already computed (as batchnorm would). NULL (and a tape
 * error) on failure. */
mtl_tensor *mtl__bn_forward(mtl_tape *t, mtl_tensor *x, mtl_tensor *gamma, mtl_tensor *beta,
                            mtl_tensor *running_mean, mtl_tensor *running_var, float momentum, float eps, bool relu,
                            const double *batch_stats, mtl__bn_stats **stats_out);
/* batchnorm's wide run sums without AVX-512 (norm.c; conv_fast.c's kernels give the same bits):
 * w NULL: *sum += sum (r - k), *sq += sum (r - k)^2 (k a float value); else *sum += sum r,
 * *sq += sum r (w - k). Float lanes (element l in lane l % 16), flushed into double lanes every
 * MTL_BN_FLUSH elements, the double lanes added in order. */
void mtl__bn_lanes_portable(const float *r, const float *w, int L, double k, double *sum, double *sq);
#endif
