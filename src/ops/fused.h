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
#endif
