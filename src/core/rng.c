/* Philox-4x32-10 (Salmon et al., SC 2011): a counter-based generator. Block c of
 * stream s under key k is a pure function of (k, s, c), so parallel fills give the
 * same numbers whatever the thread count. */
#include <math.h>

#include "mtl/core.h"

#define MTL_TWO_PI 6.283185307179586476925

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static void philox_block(const uint32_t key[2], uint64_t stream, uint64_t counter, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += PHILOX_W0, k1 += PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* SplitMix64 finaliser: spreads seeds such as 0, 1, 2 over the key space */
static uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void mtl_philox(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4]) {
    uint64_t k = mix64(seed);
    uint32_t key[2] = {(uint32_t)k, (uint32_t)(k >> 32)};
    philox_block(key, stream, counter, out);
}

void mtl_rng_init(mtl_rng *r, uint64_t seed, uint64_t stream) {
    uint64_t k = mix64(seed);
    r->key[0] = (uint32_t)k;
    r->key[1] = (uint32_t)(k >> 32);
    r->stream = stream;
    r->counter = 0;
}

/* sequential draws use one block per word: simple, and never out of step */
uint32_t mtl_rng_u32(mtl_rng *r) {
    uint32_t b[4];
    philox_block(r->key, r->stream, r->counter++, b);
    return b[0];
}

static inline float u32_to_unit(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

float mtl_rng_float(mtl_rng *r) { return u32_to_unit(mtl_rng_u32(r)); }

uint64_t mtl_rng_below(mtl_rng *r, uint64_t n) {
    if (n <= 1) return 0;
    /* rejection on 64-bit draws: the accepted range is a multiple of n */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
        uint64_t hi = mtl_rng_u32(r); /* two statements: the high word is drawn first, always */
        uint64_t x = hi << 32 | mtl_rng_u32(r);
        if (x < limit) return x % n;
    }
}

void mtl_rng_uniform(mtl_rng *r, float *out, int64_t n, float lo, float hi) {
    int64_t blocks = (n + 3) / 4;
    uint64_t base = r->counter;
    float span = hi - lo;
    float top = hi > lo ? nextafterf(hi, lo) : hi; /* lo + span * u can round up to hi */
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t b = 0; b < blocks; b++) {
        uint32_t w[4];
        philox_block(r->key, r->stream, base + (uint64_t)b, w);
        for (int j = 0; j < 4 && 4 * b + j < n; j++) {
            float v = lo + span * u32_to_unit(w[j]);
            out[4 * b + j] = v < hi ? v : top;
        }
    }
    r->counter += (uint64_t)blocks;
}

/* Box-Muller: each block gives two pairs of uniforms, hence four normals */
void mtl_rng_normal(mtl_rng *r, float *out, int64_t n, float mean, float std) {
    int64_t blocks = (n + 3) / 4;
    uint64_t base = r->counter;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t b = 0; b < blocks; b++) {
        uint32_t w[4];
        philox_block(r->key, r->stream, base + (uint64_t)b, w);
        double z[4];
        for (int p = 0; p < 2; p++) {
            double u1 = ((double)w[2 * p] + 1.0) / 4294967297.0; /* (0, 1]: log is finite */
            double u2 = (double)w[2 * p + 1] / 4294967296.0;
            double rad = sqrt(-2.0 * log(u1));
            z[2 * p] = rad * cos(MTL_TWO_PI * u2);
            z[2 * p + 1] = rad * sin(MTL_TWO_PI * u2);
        }
        for (int j = 0; j < 4 && 4 * b + j < n; j++) out[4 * b + j] = mean + std * (float)z[j];
    }
    r->counter += (uint64_t)blocks;
}

mtl_status mtl_rng_permutation(mtl_rng *r, int32_t *out, int64_t n) {
    if (!r || (!out && n > 0)) return mtl_error(MTL_ERR_ARG, "rng_permutation: null argument");
    if (n < 0 || n > INT32_MAX) return mtl_error(MTL_ERR_ARG, "rng_permutation: length %lld out of range", (long long)n);
    for (int64_t i = 0; i < n; i++) out[i] = (int32_t)i;
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int64_t j = (int64_t)mtl_rng_below(r, (uint64_t)i + 1);
        int32_t tmp = out[i];
        out[i] = out[j];
        out[j] = tmp;
    }
    return MTL_OK;
}
