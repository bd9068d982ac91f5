/* Generated tones for the demo and tests: x(t) = a sin(2 pi f t / L + phase) + noise.
 * Task 0 "frequency": f in {3, 5, 8, 12} cycles per window (jittered by +-0.4).
 * Task 1 "amplitude": a in {0.5, 1, 2} (jittered by +-10 %). */
#include <math.h>
#include <string.h>

#include "mtl/data.h"

#define TWO_PI 6.283185307179586

mtl_status mtl_synth_tones(mtl_dataset *d, int n, int length, float noise, uint64_t seed) {
    static const float freq[4] = {3, 5, 8, 12}, amp[3] = {0.5f, 1.0f, 2.0f};
    if (!(noise >= 0) || !isfinite(noise))
        return mtl_error(MTL_ERR_ARG, "synth_tones: noise %g must be a finite number >= 0", (double)noise);
    if (length < 32) return mtl_error(MTL_ERR_ARG, "synth_tones: length %d (expected at least 32)", length);
    mtl_status s = mtl_dataset_alloc(d, n, 1, length, 2);
    if (s) return s;
    d->n_classes[0] = 4, d->n_classes[1] = 3;
    strcpy(d->task_names[0], "frequency");
    strcpy(d->task_names[1], "amplitude");
    mtl_rng r;
    mtl_rng_init(&r, seed, 0x70e5);
    for (int i = 0; i < n; i++) {
        int cf = (int)mtl_rng_below(&r, 4), ca = (int)mtl_rng_below(&r, 3);
        double f = freq[cf] + 0.8 * (mtl_rng_float(&r) - 0.5);
        double a = amp[ca] * (1.0 + 0.2 * (mtl_rng_float(&r) - 0.5));
        double phase = TWO_PI * mtl_rng_float(&r);
        float *x = d->x + (size_t)i * length;
        mtl_rng_normal(&r, x, length, 0.0f, noise);
        for (int j = 0; j < length; j++) x[j] += (float)(a * sin(TWO_PI * f * j / length + phase));
        d->y[0][i] = cf;
        d->y[1][i] = ca;
    }
    return MTL_OK;
}
