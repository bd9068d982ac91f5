/* Core: the Philox RNG (known answers, statistics, thread independence), the arena,
 * the tape's bookkeeping and error handling, and the parameter store. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "harness.h"

/* ==== RNG ======================================================================= */

/* The library keys Philox with SplitMix64(seed). That finaliser is a bijection of
 * 64-bit words, so its inverse gives, for any raw Philox key k, the seed that
 * mtl_philox maps to k: the raw rounds can be tested through the public function. */
static uint64_t splitmix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint64_t unxorshift(uint64_t y, int s) {
    uint64_t z = y;
    for (int k = s; k < 64; k += s) z ^= y >> k;
    return z;
}
static uint64_t inverse_odd(uint64_t a) { /* a * x == 1 mod 2^64 (Newton) */
    uint64_t x = a;
    for (int i = 0; i < 6; i++) x *= 2 - a * x;
    return x;
}
static uint64_t splitmix64_inverse(uint64_t k) {
    uint64_t z = unxorshift(k, 31);
    z *= inverse_odd(0x94D049BB133111EBull);
    z = unxorshift(z, 27);
    z *= inverse_odd(0xBF58476D1CE4E5B9ull);
    z = unxorshift(z, 30);
    return z - 0x9E3779B97F4A7C15ull;
}

/* Known-answer vectors of philox4x32_10 from Random123's kat_vectors:
 * counter words c0..c3, key words k0 k1, expected output. */
static void rng_philox_known_answers(void) {
    static const struct {
        uint32_t c[4], k[2], out[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (int i = 0; i < 3; i++) {
        uint64_t key = (uint64_t)kat[i].k[0] | (uint64_t)kat[i].k[1] << 32;
        uint64_t seed = splitmix64_inverse(key);
        CHECK(splitmix64(seed) == key, "vector %d: SplitMix64 inverse is wrong", i);
        /* the library's key schedule is the SplitMix64 above: rng_init exposes the key */
        mtl_rng r;
        mtl_rng_init(&r, seed, 0);
        CHECK(r.key[0] == kat[i].k[0] && r.key[1] == kat[i].k[1], "vector %d: seed does not map to key %08x %08x (%08x %08x)",
              i, kat[i].k[0], kat[i].k[1], r.key[0], r.key[1]);
        uint64_t counter = (uint64_t)kat[i].c[0] | (uint64_t)kat[i].c[1] << 32;
        uint64_t stream = (uint64_t)kat[i].c[2] | (uint64_t)kat[i].c[3] << 32;
        uint32_t out[4];
        mtl_philox(seed, stream, counter, out);
        for (int j = 0; j < 4; j++)
            CHECK(out[j] == kat[i].out[j], "vector %d word %d: %08x, expected %08x", i, j, out[j], kat[i].out[j]);
        /* the stateful generator produces the same block: u32 draws word 0 of block `counter` */
        r.stream = stream;
        r.counter = counter;
        CHECK(mtl_rng_u32(&r) == kat[i].out[0], "vector %d: mtl_rng_u32 disagrees with mtl_philox", i);
    }
}

static void rng_reproducible(void) {
    enum { N = 4096 };
    static float a[N], b[N], c[N], d[N];
    mtl_rng r1, r2, r3, r4;
    mtl_rng_init(&r1, 42, 7), mtl_rng_init(&r2, 42, 7), mtl_rng_init(&r3, 43, 7), mtl_rng_init(&r4, 42, 8);
    mtl_rng_uniform(&r1, a, N, -1, 1), mtl_rng_uniform(&r2, b, N, -1, 1);
    mtl_rng_uniform(&r3, c, N, -1, 1), mtl_rng_uniform(&r4, d, N, -1, 1);
    CHECK(memcmp(a, b, sizeof a) == 0, "same (seed, stream) gave different uniforms");
    int same_seed = 0, same_stream = 0;
    for (int i = 0; i < N; i++) same_seed += a[i] == c[i], same_stream += a[i] == d[i];
    CHECK(same_seed < 8, "seeds 42 and 43 agree at %d of %d values", same_seed, N);
    CHECK(same_stream < 8, "streams 7 and 8 agree at %d of %d values", same_stream, N);

    /* integer draws */
    mtl_rng_init(&r1, 42, 7), mtl_rng_init(&r2, 42, 7), mtl_rng_init(&r3, 43, 7), mtl_rng_init(&r4, 42, 8);
    int eq = 1, eq_seed = 0, eq_stream = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t x = mtl_rng_u32(&r1);
        eq &= x == mtl_rng_u32(&r2);
        eq_seed += x == mtl_rng_u32(&r3);
        eq_stream += x == mtl_rng_u32(&r4);
    }
    CHECK(eq, "same (seed, stream) gave different u32 sequences");
    CHECK(eq_seed < 3 && eq_stream < 3, "u32: other seed agrees %d times, other stream %d times", eq_seed, eq_stream);

    /* seeds 0, 1, 2 give unrelated keys (SplitMix64), and the stateless block matches */
    uint32_t w0[4], w1[4];
    mtl_philox(0, 0, 0, w0), mtl_philox(1, 0, 0, w1);
    CHECK(memcmp(w0, w1, sizeof w0) != 0, "seeds 0 and 1 give the same block");
    mtl_philox(5, 3, 0, w0), mtl_philox(5, 3, 1, w1);
    CHECK(memcmp(w0, w1, sizeof w0) != 0, "counters 0 and 1 give the same block");
    /* a fill is the stateless blocks in order: element 4b+j = lo + (hi-lo) * (w[j] >> 8) / 2^24 */
    mtl_rng_init(&r1, 5, 3);
    mtl_rng_uniform(&r1, a, 12, 0.0f, 1.0f);
    int ok = 1;
    for (int blk = 0; blk < 3; blk++) {
        mtl_philox(5, 3, (uint64_t)blk, w0);
        for (int j = 0; j < 4; j++) ok &= a[4 * blk + j] == (float)(w0[j] >> 8) * (1.0f / 16777216.0f);
    }
    CHECK(ok, "uniform fill is not the documented function of (seed, stream, counter)");
    CHECK(r1.counter == 3, "12 values should use 3 blocks, counter is %llu", (unsigned long long)r1.counter);
}

static void moments(const float *x, int64_t n, double *mean, double *var, float *mn, float *mx) {
    double s = 0, s2 = 0;
    float lo = x[0], hi = x[0];
    for (int64_t i = 0; i < n; i++) {
        s += x[i];
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    double m = s / (double)n;
    for (int64_t i = 0; i < n; i++) s2 += ((double)x[i] - m) * ((double)x[i] - m);
    *mean = m, *var = s2 / (double)(n - 1), *mn = lo, *mx = hi;
}

static void rng_uniform_moments(void) {
    const int64_t n = 1000000;
    float *x = malloc((size_t)n * sizeof *x);
    static const float range[][2] = {{0.0f, 1.0f}, {-1.0f, 1.0f}, {-0.25f, 0.75f}, {3.0f, 3.5f}};
    for (int k = 0; k < 4; k++) {
        float lo = range[k][0], hi = range[k][1];
        mtl_rng r;
        mtl_rng_init(&r, 1234 + (uint64_t)k, 0);
        mtl_rng_uniform(&r, x, n, lo, hi);
        double mean, var;
        float mn, mx;
        moments(x, n, &mean, &var, &mn, &mx);
        double want_var = (double)(hi - lo) * (hi - lo) / 12.0;
        CHECK(fabs(mean - 0.5 * (lo + hi)) < 0.002, "U[%g,%g): mean %.6f", lo, hi, mean);
        CHECK(fabs(var / want_var - 1.0) < 0.01, "U[%g,%g): variance %.6f, expected %.6f", lo, hi, var, want_var);
        CHECK(mn >= lo && mx < hi, "U[%g,%g): values range over [%.9g, %.9g]", lo, hi, mn, mx);
        CHECK(mn - lo < 1e-4 && hi - mx < 1e-4, "U[%g,%g): does not cover the range: [%.9g, %.9g]", lo, hi, mn, mx);
    }
    /* mtl_rng_float: [0, 1) */
    mtl_rng r;
    mtl_rng_init(&r, 9, 9);
    double s = 0;
    int bad = 0;
    for (int i = 0; i < 100000; i++) {
        float u = mtl_rng_float(&r);
        bad += !(u >= 0.0f && u < 1.0f);
        s += u;
    }
    CHECK(bad == 0, "%d floats outside [0, 1)", bad);
    CHECK(fabs(s / 100000 - 0.5) < 0.005, "mtl_rng_float mean %.5f", s / 100000);
    free(x);
}

/* The largest draw (top 24 bits all ones) maps to u = 1 - 2^-24; lo + (hi-lo) u must
 * still be below hi. Block 1134842 of (seed 1, stream 0) holds such a word. */
static void rng_uniform_upper_bound(void) {
    uint32_t w[4];
    mtl_philox(1, 0, 1134842, w);
    CHECK((w[1] >> 8) == 0xffffff, "test premise: word 1 is %08x", w[1]);
    static const float range[][2] = {{2.0f, 5.0f}, {0.0f, 1.0f}, {-1.0f, 1.0f}, {0.5f, 3.0f}};
    for (int k = 0; k < 4; k++) {
        mtl_rng r;
        mtl_rng_init(&r, 1, 0);
        r.counter = 1134842;
        float x[4];
        mtl_rng_uniform(&r, x, 4, range[k][0], range[k][1]);
        CHECK(x[1] >= range[k][0] && x[1] < range[k][1], "U[%g,%g) returned %.9g for the largest draw", range[k][0],
              range[k][1], x[1]);
    }
}

static void rng_normal_moments(void) {
    const int64_t n = 1000000;
    float *x = malloc((size_t)n * sizeof *x);
    static const float ms[][2] = {{0.0f, 1.0f}, {3.0f, 0.5f}, {-2.0f, 1.0f}};
    for (int k = 0; k < 3; k++) {
        mtl_rng r;
        mtl_rng_init(&r, 77 + (uint64_t)k, 1);
        mtl_rng_normal(&r, x, n, ms[k][0], ms[k][1]);
        double mean, var;
        float mn, mx;
        moments(x, n, &mean, &var, &mn, &mx);
        int finite = 1;
        for (int64_t i = 0; i < n; i++) finite &= isfinite(x[i]) != 0;
        CHECK(finite, "N(%g,%g): non-finite values", ms[k][0], ms[k][1]);
        CHECK(fabs(mean - ms[k][0]) < 0.005, "N(%g,%g): mean %.6f", ms[k][0], ms[k][1], mean);
        CHECK(fabs(sqrt(var) / ms[k][1] - 1.0) < 0.005, "N(%g,%g): std %.6f", ms[k][0], ms[k][1], sqrt(var));
        /* tails: about 0.27 % beyond 3 sigma, and some beyond 4 sigma in 1e6 draws */
        int64_t beyond3 = 0;
        for (int64_t i = 0; i < n; i++) beyond3 += fabs((x[i] - ms[k][0]) / ms[k][1]) > 3.0;
        CHECK(beyond3 > 2200 && beyond3 < 3200, "N(%g,%g): %lld values beyond 3 sigma (expected ~2700)", ms[k][0],
              ms[k][1], (long long)beyond3);
        CHECK((mx - ms[k][0]) / ms[k][1] > 4.0 && (ms[k][0] - mn) / ms[k][1] > 4.0, "N: range [%g, %g] too narrow", mn,
              mx);
    }
    free(x);
}

static void rng_permutation(void) {
    enum { N = 1000 };
    int32_t p[N], q[N];
    mtl_rng r;
    mtl_rng_init(&r, 5, 0);
    CHECK_OK(mtl_rng_permutation(&r, p, N));
    int seen[N] = {0}, ok = 1, fixed = 0;
    for (int i = 0; i < N; i++) {
        if (p[i] < 0 || p[i] >= N) ok = 0;
        else seen[p[i]]++;
        fixed += p[i] == i;
    }
    for (int i = 0; i < N; i++) ok &= seen[i] == 1;
    CHECK(ok, "not a permutation of 0..%d", N - 1);
    CHECK(fixed < 10, "%d fixed points (expected about 1)", fixed);
    mtl_rng_init(&r, 6, 0);
    CHECK_OK(mtl_rng_permutation(&r, q, N));
    int same = 0;
    for (int i = 0; i < N; i++) same += p[i] == q[i];
    CHECK(same < 10, "seeds 5 and 6 give permutations agreeing at %d places", same);
    /* same seed: same order */
    mtl_rng_init(&r, 5, 0);
    CHECK_OK(mtl_rng_permutation(&r, q, N));
    CHECK(memcmp(p, q, sizeof p) == 0, "seed 5 twice gives different permutations");
    /* first position is uniform over 0..3 for n = 4 */
    int first[4] = {0};
    for (int t = 0; t < 8000; t++) {
        int32_t s[4];
        mtl_rng_permutation(&r, s, 4);
        first[s[0]]++;
    }
    for (int i = 0; i < 4; i++) CHECK(first[i] > 1800 && first[i] < 2200, "p[0] == %d in %d of 8000", i, first[i]);
    /* edge cases and errors */
    CHECK_OK(mtl_rng_permutation(&r, NULL, 0));
    CHECK_OK(mtl_rng_permutation(&r, p, 1));
    CHECK(p[0] == 0, "n = 1 gives %d", p[0]);
    mtl_clear_error();
    CHECK(mtl_rng_permutation(NULL, p, 3) == MTL_ERR_ARG, "NULL rng accepted");
    CHECK(mtl_rng_permutation(&r, NULL, 3) == MTL_ERR_ARG, "NULL out accepted");
    CHECK(mtl_rng_permutation(&r, p, -1) == MTL_ERR_ARG, "n = -1 accepted");
    CHECK(mtl_last_error()[0] != '\0', "no message");
}

static void rng_below(void) {
    mtl_rng r;
    mtl_rng_init(&r, 11, 3);
    int counts[7] = {0}, bad = 0;
    for (int i = 0; i < 70000; i++) {
        uint64_t v = mtl_rng_below(&r, 7);
        if (v >= 7) bad++;
        else counts[v]++;
    }
    CHECK(bad == 0, "%d draws >= 7", bad);
    double chi2 = 0;
    for (int i = 0; i < 7; i++) {
        CHECK(counts[i] > 0, "value %d never drawn", i);
        chi2 += (counts[i] - 10000.0) * (counts[i] - 10000.0) / 10000.0;
    }
    CHECK(chi2 < 30.0, "chi-square %.1f with 6 degrees of freedom", chi2); /* p ~ 4e-5 */
    int hit[3] = {0};
    for (int i = 0; i < 100; i++) {
        uint64_t v = mtl_rng_below(&r, 3);
        CHECK(v < 3, "below(3) gave %llu", (unsigned long long)v);
        if (v < 3) hit[v] = 1;
    }
    CHECK(hit[0] && hit[1] && hit[2], "below(3) missed a value");
    CHECK(mtl_rng_below(&r, 1) == 0, "below(1) != 0");
    CHECK(mtl_rng_below(&r, 0) == 0, "below(0) != 0");
    /* a huge n: stays below it and uses the high bits too */
    uint64_t big = (UINT64_C(1) << 63) + 12345, maxv = 0;
    for (int i = 0; i < 64; i++) {
        uint64_t v = mtl_rng_below(&r, big);
        CHECK(v < big, "below(2^63+12345) gave %llu", (unsigned long long)v);
        maxv = v > maxv ? v : maxv;
    }
    CHECK(maxv > (UINT64_C(1) << 62), "below(2^63+...) never exceeded 2^62");
}

static void rng_threads_identical(void) {
    const int64_t n = 1000001; /* not a multiple of 4: the last block is partial */
    float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
    int before = mtl_get_threads();
    mtl_rng r;
    CHECK_OK(mtl_set_threads(1));
    CHECK(mtl_get_threads() == 1, "threads %d", mtl_get_threads());
    mtl_rng_init(&r, 3, 4);
    mtl_rng_uniform(&r, a, n, -2, 2);
    uint64_t c1 = r.counter;
    CHECK_OK(mtl_set_threads(2));
    CHECK(mtl_get_threads() == 2, "threads %d", mtl_get_threads());
    mtl_rng_init(&r, 3, 4);
    mtl_rng_uniform(&r, b, n, -2, 2);
    CHECK(memcmp(a, b, (size_t)n * sizeof *a) == 0, "uniform fill differs between 1 and 2 threads");
    CHECK(r.counter == c1 && c1 == (uint64_t)(n + 3) / 4, "counter %llu vs %llu", (unsigned long long)r.counter,
          (unsigned long long)c1);

    CHECK_OK(mtl_set_threads(1));
    mtl_rng_init(&r, 3, 5);
    mtl_rng_normal(&r, a, n, 0, 1);
    CHECK_OK(mtl_set_threads(2));
    mtl_rng_init(&r, 3, 5);
    mtl_rng_normal(&r, b, n, 0, 1);
    CHECK(memcmp(a, b, (size_t)n * sizeof *a) == 0, "normal fill differs between 1 and 2 threads");
    /* and a fill after a fill continues the stream identically */
    mtl_rng_uniform(&r, b, 1000, 0, 1);
    CHECK_OK(mtl_set_threads(1));
    mtl_rng_init(&r, 3, 5);
    mtl_rng_normal(&r, a, n, 0, 1);
    mtl_rng_uniform(&r, a, 1000, 0, 1);
    CHECK(memcmp(a, b, 1000 * sizeof *a) == 0, "the continuation differs between 1 and 2 threads");
    CHECK(mtl_set_threads(5000) == MTL_ERR_ARG, "5000 threads accepted");
    CHECK_OK(mtl_set_threads(before));
    free(a);
    free(b);
}

/* ==== arena ===================================================================== */

#define N_ALLOC 3000
static size_t alloc_size(int i) { return i % 97 == 0 ? 0 : (size_t)((i * 2654435761u) % 4000u) + 1; }
static size_t rounded(size_t n) { return n == 0 ? 64 : (n + 63) & ~(size_t)63; }

/* one "step": N_ALLOC allocations, each filled with its own pattern, all verified */
static int arena_step(mtl_arena *a, unsigned char **p, int *contiguous) {
    int ok = 1;
    *contiguous = 1;
    for (int i = 0; i < N_ALLOC; i++) {
        size_t n = alloc_size(i);
        p[i] = mtl_arena_alloc(a, n);
        if (!p[i]) return 0;
        if ((uintptr_t)p[i] % 64 != 0) ok = 0;
        if (i > 0 && p[i] != p[i - 1] + rounded(alloc_size(i - 1))) *contiguous = 0;
        memset(p[i], (int)(i * 31 + 7) & 0xff, n);
    }
    for (int i = 0; i < N_ALLOC && ok; i++) {
        size_t n = alloc_size(i);
        unsigned char want = (unsigned char)((i * 31 + 7) & 0xff);
        for (size_t j = 0; j < n; j++)
            if (p[i][j] != want) {
                ok = 0;
                break;
            }
    }
    return ok;
}

static void arena_alignment_and_overlap(void) {
    static unsigned char *p[N_ALLOC];
    mtl_arena a;
    mtl_arena_init(&a);
    CHECK(a.capacity == 0 && a.used_total == 0, "fresh arena not empty");
    int contiguous;
    CHECK(arena_step(&a, p, &contiguous), "allocations misaligned or overlapping");
    size_t want = 0;
    for (int i = 0; i < N_ALLOC; i++) want += rounded(alloc_size(i));
    CHECK(a.used_total == want, "used_total %zu, expected %zu", a.used_total, want);
    CHECK(a.high_water == want, "high_water %zu", a.high_water);
    CHECK(want > 3 * ((size_t)1 << 20), "test premise: the step needs several 1 MiB chunks (%zu bytes)", want);
    CHECK(!contiguous, "test premise: several chunks were used");
    /* zero-byte allocations are valid, aligned and distinct */
    void *z1 = mtl_arena_alloc(&a, 0), *z2 = mtl_arena_alloc(&a, 0);
    CHECK(z1 && z2 && z1 != z2, "zero-byte allocations %p %p", z1, z2);
    CHECK((uintptr_t)z1 % 64 == 0 && (uintptr_t)z2 % 64 == 0, "zero-byte allocation misaligned");
    /* a single allocation larger than everything held */
    size_t big = a.capacity + 12345;
    unsigned char *b = mtl_arena_alloc(&a, big);
    CHECK(b && (uintptr_t)b % 64 == 0, "big allocation failed or misaligned");
    if (b) {
        memset(b, 0xAB, big);
        CHECK(b[0] == 0xAB && b[big - 1] == 0xAB, "big allocation not writable");
    }
    /* overflowing sizes fail cleanly */
    CHECK(mtl_arena_alloc(&a, SIZE_MAX) == NULL, "SIZE_MAX allocation succeeded");
    CHECK(mtl_arena_alloc(&a, SIZE_MAX - 10) == NULL, "SIZE_MAX-10 allocation succeeded");
    mtl_arena_free(&a);
    CHECK(a.capacity == 0 && a.head == NULL, "free leaves capacity %zu", a.capacity);
    mtl_arena_free(&a); /* twice is harmless */
}

static void arena_steady_state(void) {
    static unsigned char *p[N_ALLOC];
    mtl_arena a;
    mtl_arena_init(&a);
    int contiguous;
    CHECK(arena_step(&a, p, &contiguous), "first step corrupt");
    size_t hw = a.high_water;
    mtl_arena_reset(&a);
    CHECK(a.used_total == 0, "reset leaves used_total %zu", a.used_total);
    CHECK(a.capacity >= hw, "after reset capacity %zu < high water %zu", a.capacity, hw);
    size_t cap = a.capacity;
    unsigned char *first = NULL;
    for (int step = 0; step < 10; step++) {
        CHECK(arena_step(&a, p, &contiguous), "step %d corrupt", step);
        CHECK(contiguous, "step %d: allocations not in one chunk", step);
        CHECK(a.capacity == cap, "step %d: capacity %zu, was %zu (allocated again)", step, a.capacity, cap);
        CHECK(a.high_water == hw, "step %d: high water %zu, was %zu", step, a.high_water, hw);
        if (step == 0) first = p[0];
        CHECK(p[0] == first, "step %d: the chunk moved", step);
        mtl_arena_reset(&a);
    }
    /* a smaller step reuses the chunk too */
    for (int i = 0; i < 10; i++) CHECK(mtl_arena_alloc(&a, 1000) != NULL, "alloc");
    mtl_arena_reset(&a);
    CHECK(a.capacity == cap, "capacity changed after a small step");
    CHECK(mtl_arena_alloc(&a, 10) == first, "the chunk moved after a small step");
    mtl_arena_free(&a);

    /* reset of an empty arena, and a first step within one chunk */
    mtl_arena_init(&a);
    mtl_arena_reset(&a);
    CHECK(a.capacity == 0, "reset of an empty arena allocated");
    void *q = mtl_arena_alloc(&a, 100);
    CHECK(q != NULL && a.capacity >= 100, "alloc after empty reset");
    mtl_arena_reset(&a);
    CHECK(mtl_arena_alloc(&a, 100) == q, "single-chunk reset does not reuse the chunk");
    mtl_arena_free(&a);
}

/* ==== tape ====================================================================== */

enum { TN = 512, TIN = 256, TOUT = 256 };

typedef struct {
    float *data[4];
    float *grad[4];
    float loss;
    size_t bytes;
    int nodes;
} step_trace;

/* forward + backward of mse(sigmoid(relu(x W^T + b)) * 2 + 1, target) */
static mtl_status tape_step(mtl_tape *t, mtl_params *P, mtl_tensor *W, mtl_tensor *B, float *x, float *target,
                            step_trace *tr) {
    mtl_tape_reset(t);
    mtl_params_zero_grad(P);
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(TN, TIN), x);
    mtl_tensor *Y = mtl_tensor_wrap(t, MTL_SHAPE(TN, TOUT), target);
    mtl_tensor *h1 = mtl_linear(t, X, W, B);
    mtl_tensor *h2 = mtl_relu(t, h1);
    mtl_tensor *h3 = mtl_sigmoid(t, h2);
    mtl_tensor *h4 = mtl_affine(t, h3, 2.0f, 1.0f);
    mtl_tensor *loss = mtl_mse(t, h4, Y);
    if (mtl_tape_status(t)) return mtl_tape_status(t);
    mtl_status s = mtl_backward(t, loss, 1.0f);
    if (s) return s;
    mtl_tensor *h[4] = {h1, h2, h3, h4};
    for (int i = 0; i < 4; i++) tr->data[i] = h[i]->data, tr->grad[i] = h[i]->grad;
    tr->loss = loss->data[0];
    tr->bytes = mtl_tape_bytes(t);
    tr->nodes = mtl_tape_nodes(t);
    return MTL_OK;
}

static void tape_steady_state(void) {
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    mtl_tensor *W = mtl_param_add(P, "w", MTL_OWNER_SHARED, MTL_SHAPE(TOUT, TIN), (mtl_init){MTL_INIT_UNIFORM, -0.1f, 0.1f});
    mtl_tensor *B = mtl_param_add(P, "b", MTL_OWNER_SHARED, MTL_SHAPE(TOUT), (mtl_init){MTL_INIT_UNIFORM, -0.1f, 0.1f});
    CHECK_OK(mtl_params_finalize(P, 1));
    float *x = malloc(sizeof(float) * TN * TIN), *y = malloc(sizeof(float) * TN * TOUT);
    th_fill(x, TN * TIN, 1, -1, 1), th_fill(y, TN * TOUT, 2, 0, 3);
    float *g0 = malloc(sizeof(float) * (size_t)mtl_params_size(P));
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    step_trace tr[12];
    for (int s = 0; s < 12; s++) {
        CHECK_OK(tape_step(t, P, W, B, x, y, &tr[s]));
        if (s == 0) memcpy(g0, mtl_params_grad(P), sizeof(float) * (size_t)mtl_params_size(P));
        else CHECK(memcmp(g0, mtl_params_grad(P), sizeof(float) * (size_t)mtl_params_size(P)) == 0,
                   "step %d: parameter gradient differs", s);
    }
    /* activations + their gradients of one step: > 2 MiB each, so step 1 used several chunks */
    CHECK(tr[0].bytes > 4 * (size_t)TN * TOUT * sizeof(float), "tape bytes %zu too small", tr[0].bytes);
    CHECK(tr[0].nodes >= 5, "nodes %d", tr[0].nodes);
    for (int s = 2; s < 12; s++) {
        CHECK(tr[s].bytes == tr[1].bytes, "step %d: tape bytes %zu, step 1 %zu", s, tr[s].bytes, tr[1].bytes);
        CHECK(tr[s].nodes == tr[0].nodes, "step %d: %d nodes", s, tr[s].nodes);
        CHECK(tr[s].loss == tr[0].loss, "step %d: loss %g vs %g", s, tr[s].loss, tr[0].loss);
        /* no allocation in the steady state: every activation and gradient sits at the same address */
        for (int i = 0; i < 4; i++) {
            CHECK(tr[s].data[i] == tr[1].data[i], "step %d: activation %d moved", s, i);
            CHECK(tr[s].grad[i] == tr[1].grad[i] && tr[s].grad[i] != NULL, "step %d: gradient %d moved or missing", s, i);
        }
    }
    CHECK(tr[1].bytes == tr[0].bytes, "step 1 grew the tape: %zu -> %zu", tr[0].bytes, tr[1].bytes);
    mtl_tape_reset(t);
    CHECK(mtl_tape_nodes(t) == 0, "reset keeps %d nodes", mtl_tape_nodes(t));
    mtl_tape_free(t);
    mtl_params_free(P);
    free(x), free(y), free(g0);
}

static void tape_null_handling(void) {
    float buf[4] = {1, 2, 3, 4};
    mtl_clear_error();
    CHECK(mtl_tape_create(NULL) == MTL_ERR_ARG, "create(NULL)");
    CHECK(mtl_last_error()[0], "no message");
    mtl_tape_free(NULL);
    mtl_tape_reset(NULL);
    mtl_tape_set_training(NULL, true);
    mtl_tape_set_recording(NULL, true);
    mtl_tape_set_seed(NULL, 1);
    mtl_tensor_requires_grad(NULL);
    CHECK(!mtl_tape_training(NULL) && !mtl_tape_recording(NULL), "NULL tape trains or records");
    CHECK(mtl_tape_status(NULL) != MTL_OK, "status(NULL) is OK");
    CHECK(mtl_tape_error(NULL) && mtl_tape_error(NULL)[0], "error(NULL) empty");
    CHECK(mtl_tape_bytes(NULL) == 0 && mtl_tape_nodes(NULL) == 0, "bytes/nodes of NULL");
    mtl_clear_error();
    CHECK(mtl_tensor_new(NULL, MTL_SHAPE(2)) == NULL && mtl_last_error()[0], "tensor_new(NULL)");
    mtl_clear_error();
    CHECK(mtl_tensor_zeros(NULL, MTL_SHAPE(2)) == NULL && mtl_last_error()[0], "tensor_zeros(NULL)");
    mtl_clear_error();
    CHECK(mtl_tensor_from(NULL, MTL_SHAPE(2), buf) == NULL && mtl_last_error()[0], "tensor_from(NULL)");
    mtl_clear_error();
    CHECK(mtl_tensor_from(NULL, MTL_SHAPE(2), NULL) == NULL && mtl_last_error()[0], "tensor_from(NULL, NULL)");
    mtl_clear_error();
    CHECK(mtl_tensor_wrap(NULL, MTL_SHAPE(2), buf) == NULL && mtl_last_error()[0], "tensor_wrap(NULL)");
    mtl_clear_error();
    CHECK(mtl_backward(NULL, NULL, 1) == MTL_ERR_ARG && mtl_last_error()[0], "backward(NULL)");
    CHECK(mtl_backward_weighted(NULL, 1, NULL, NULL) == MTL_ERR_ARG, "backward_weighted(NULL)");
    CHECK(mtl_backward_from(NULL, NULL, buf) == MTL_ERR_ARG, "backward_from(NULL)");
    CHECK(mtl_backward_into(NULL, NULL, 1, NULL, buf) == MTL_ERR_ARG, "backward_into(NULL)");

    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    CHECK(mtl_tape_training(t) && mtl_tape_recording(t), "defaults: training and recording");
    CHECK(mtl_tape_status(t) == MTL_OK && mtl_tape_error(t)[0] == '\0', "fresh tape has an error");
    mtl_tape_set_training(t, false);
    mtl_tape_set_recording(t, false);
    CHECK(!mtl_tape_training(t) && !mtl_tape_recording(t), "setters ignored");
    mtl_tape_set_recording(t, true);
    /* NULL data */
    CHECK(mtl_tensor_from(t, MTL_SHAPE(2), NULL) == NULL, "tensor_from NULL data");
    CHECK(mtl_tape_status(t) == MTL_ERR_ARG && mtl_tape_error(t)[0], "status %d", mtl_tape_status(t));
    mtl_tape_reset(t);
    CHECK(mtl_tensor_wrap(t, MTL_SHAPE(2), NULL) == NULL && mtl_tape_status(t) == MTL_ERR_ARG, "wrap NULL data");
    mtl_tape_reset(t);
    /* invalid shapes */
    CHECK(mtl_tensor_new(t, MTL_SHAPE(2, -1)) == NULL && mtl_tape_status(t) == MTL_ERR_SHAPE, "negative dim");
    mtl_tape_reset(t);
    CHECK(mtl_tensor_zeros(t, (mtl_shape){5, {1, 1, 1, 1}}) == NULL && mtl_tape_status(t) == MTL_ERR_SHAPE, "5-d");
    mtl_tape_reset(t);
    CHECK(mtl_tensor_new(t, MTL_SHAPE(1 << 30, 1 << 30)) == NULL && mtl_tape_status(t) != MTL_OK, "2^60 elements");
    mtl_tape_reset(t);
    /* valid ones, including 0-d and empty */
    mtl_tensor *s = mtl_tensor_zeros(t, MTL_SCALAR_SHAPE), *e = mtl_tensor_new(t, MTL_SHAPE(0, 3));
    mtl_tensor *f = mtl_tensor_from(t, MTL_SHAPE(2, 2), buf);
    CHECK(s && s->size == 1 && s->ndim == 0 && s->data[0] == 0.0f, "0-d tensor");
    CHECK(e && e->size == 0 && e->ndim == 2, "empty tensor");
    CHECK(f && f->data != buf && f->data[3] == 4.0f && !(f->flags & MTL_TENSOR_REQUIRES_GRAD), "tensor_from");
    CHECK(f && (uintptr_t)f->data % 64 == 0, "activation data not 64-byte aligned");
    mtl_tensor *w = mtl_tensor_wrap(t, MTL_SHAPE(4), buf);
    CHECK(w && w->data == buf, "wrap copies");
    /* backward with NULL pieces on a good tape */
    mtl_clear_error();
    CHECK(mtl_backward(t, NULL, 1) == MTL_ERR_ARG && mtl_last_error()[0], "backward(t, NULL)");
    CHECK(mtl_backward_weighted(t, 0, NULL, NULL) == MTL_ERR_ARG, "backward_weighted k=0");
    CHECK(mtl_backward_weighted(t, 1, NULL, NULL) == MTL_ERR_ARG, "backward_weighted losses NULL");
    mtl_tensor *nulls[2] = {NULL, s};
    CHECK(mtl_backward_weighted(t, 2, nulls, NULL) == MTL_ERR_ARG, "backward_weighted with a NULL loss");
    CHECK(mtl_backward_from(t, w, NULL) == MTL_ERR_ARG, "backward_from dy NULL");
    CHECK(mtl_backward_from(t, NULL, buf) == MTL_ERR_ARG, "backward_from y NULL");
    CHECK(mtl_backward_into(t, s, 1, NULL, buf) == MTL_ERR_ARG, "backward_into P NULL");
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    CHECK(mtl_param_add(P, "p", -1, MTL_SHAPE(2), MTL_INIT_Z) != NULL, "param_add");
    CHECK(mtl_backward_into(t, s, 1, P, NULL) == MTL_ERR_ARG, "backward_into row NULL");
    CHECK(mtl_backward_into(t, s, 1, P, buf) == MTL_ERR_STATE, "backward_into before finalize");
    mtl_params_free(P);
    mtl_tape_free(t);
}

static void tape_backward_errors(void) {
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    mtl_tensor *W = mtl_param_add(P, "w", -1, MTL_SHAPE(3, 4), (mtl_init){MTL_INIT_UNIFORM, -1, 1});
    CHECK_OK(mtl_params_finalize(P, 3));
    float x[8], tgt[6] = {0};
    th_fill(x, 8, 4, -1, 1);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));

    /* non-scalar loss */
    mtl_tensor *y = mtl_linear(t, mtl_tensor_wrap(t, MTL_SHAPE(2, 4), x), W, NULL);
    CHECK(y != NULL, "linear: %s", mtl_tape_error(t));
    mtl_clear_error();
    CHECK(mtl_backward(t, y, 1) == MTL_ERR_SHAPE, "backward of a [2,3] loss");
    CHECK(strstr(mtl_last_error(), "6") != NULL, "message '%s' lacks the element count", mtl_last_error());
    float wts[1] = {1};
    CHECK(mtl_backward_weighted(t, 1, &y, wts) == MTL_ERR_SHAPE, "backward_weighted of a [2,3] loss");

    /* a loss that needs no gradient: recording off */
    mtl_tape_reset(t);
    mtl_tape_set_recording(t, false);
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(2, 4), x);
    mtl_tensor_requires_grad(X);
    mtl_tensor *l = mtl_mse(t, mtl_linear(t, X, W, NULL), mtl_tensor_wrap(t, MTL_SHAPE(2, 3), tgt));
    CHECK(l != NULL && mtl_tape_nodes(t) == 0, "no-grad forward recorded %d nodes", mtl_tape_nodes(t));
    mtl_clear_error();
    CHECK(mtl_backward(t, l, 1) == MTL_ERR_STATE, "backward of an unrecorded loss");
    CHECK(mtl_last_error()[0], "no message");
    /* a scalar that depends on nothing needing a gradient */
    mtl_tape_set_recording(t, true);
    mtl_tape_reset(t);
    mtl_tensor *c = mtl_tensor_zeros(t, MTL_SCALAR_SHAPE);
    CHECK(mtl_backward(t, c, 1) == MTL_ERR_STATE, "backward of a constant");

    /* mtl_backward_from on a non-scalar: y = 3 x + 1 -> dx = 3 dy */
    mtl_tape_reset(t);
    X = mtl_tensor_wrap(t, MTL_SHAPE(2, 4), x);
    mtl_tensor_requires_grad(X);
    mtl_tensor *z = mtl_affine(t, X, 3.0f, 1.0f);
    float dy[8] = {1, -2, 3, 0.5f, 0, 7, -1, 2};
    CHECK_OK(mtl_backward_from(t, z, dy));
    int ok = X->grad != NULL;
    for (int i = 0; ok && i < 8; i++) ok &= fabsf(X->grad[i] - 3.0f * dy[i]) < 1e-6f;
    CHECK(ok, "backward_from: wrong input gradient");
    /* ... and again: activation gradients are this backward's, not accumulated */
    CHECK_OK(mtl_backward_from(t, z, dy));
    ok = X->grad != NULL;
    for (int i = 0; ok && i < 8; i++) ok &= fabsf(X->grad[i] - 3.0f * dy[i]) < 1e-6f;
    CHECK(ok, "second backward_from accumulated into the activation gradient");

    /* parameter gradients accumulate; weighted = sum of separate backwards; into a row */
    mtl_tape_reset(t);
    X = mtl_tensor_wrap(t, MTL_SHAPE(2, 4), x);
    mtl_tensor *o = mtl_linear(t, X, W, NULL);
    mtl_tensor *l1 = mtl_mse(t, o, mtl_tensor_wrap(t, MTL_SHAPE(2, 3), tgt));
    mtl_tensor *l2 = mtl_l1(t, o, mtl_tensor_wrap(t, MTL_SHAPE(2, 3), tgt));
    CHECK(l1 && l2, "losses: %s", mtl_tape_error(t));
    float g1[12], g2[12], row[12] = {0};
    mtl_params_zero_grad(P);
    CHECK_OK(mtl_backward(t, l1, 1));
    memcpy(g1, mtl_params_grad(P), sizeof g1);
    CHECK_OK(mtl_backward(t, l1, 1));
    ok = 1;
    for (int i = 0; i < 12; i++) ok &= fabsf(mtl_params_grad(P)[i] - 2 * g1[i]) <= 1e-6f * (1 + fabsf(g1[i]));
    CHECK(ok, "a second backward does not accumulate parameter gradients");
    mtl_params_zero_grad(P);
    CHECK_OK(mtl_backward(t, l2, 1));
    memcpy(g2, mtl_params_grad(P), sizeof g2);
    mtl_params_zero_grad(P);
    mtl_tensor *ls[2] = {l1, l2};
    float wv[2] = {2.0f, -0.5f};
    CHECK_OK(mtl_backward_weighted(t, 2, ls, wv));
    ok = 1;
    for (int i = 0; i < 12; i++) ok &= fabsf(mtl_params_grad(P)[i] - (2 * g1[i] - 0.5f * g2[i])) < 1e-5f;
    CHECK(ok, "backward_weighted differs from the weighted sum of backwards");
    mtl_params_zero_grad(P);
    CHECK_OK(mtl_backward_into(t, l2, 0.5f, P, row));
    ok = 1;
    for (int i = 0; i < 12; i++) ok &= fabsf(row[i] - 0.5f * g2[i]) < 1e-6f && mtl_params_grad(P)[i] == 0.0f;
    CHECK(ok, "backward_into: the row is wrong or the block was touched");
    CHECK(W->grad == mtl_params_grad(P), "backward_into did not restore the gradient pointers");

    /* backward on a failed tape returns the tape's error */
    mtl_tensor *bad = mtl_matmul(t, X, X); /* [2,4] x [2,4] */
    CHECK(bad == NULL && mtl_tape_status(t) == MTL_ERR_SHAPE, "matmul mismatch: %d", mtl_tape_status(t));
    mtl_clear_error();
    CHECK(mtl_backward(t, l1, 1) == MTL_ERR_SHAPE, "backward on a failed tape");
    CHECK(strstr(mtl_last_error(), "matmul") != NULL, "message '%s' does not carry the failure", mtl_last_error());
    CHECK(mtl_backward_from(t, o, dy) == MTL_ERR_SHAPE, "backward_from on a failed tape");
    CHECK(mtl_backward_into(t, l1, 1, P, row) == MTL_ERR_SHAPE, "backward_into on a failed tape");
    /* later ops keep the first error and return NULL */
    CHECK(mtl_relu(t, X) == NULL && strstr(mtl_tape_error(t), "matmul"), "first error not kept");
    mtl_tape_reset(t);
    CHECK(mtl_tape_status(t) == MTL_OK && mtl_tape_error(t)[0] == '\0', "reset keeps the error");
    mtl_tape_free(t);
    mtl_params_free(P);
}

/* ==== params ==================================================================== */

static void params_layout(void) {
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    mtl_init c = {MTL_INIT_CONST, 0, 0};
    c.a = 1;
    mtl_tensor *t1 = mtl_param_add(P, "task1.w", 1, MTL_SHAPE(3), c);
    c.a = 2;
    mtl_tensor *sa = mtl_param_add(P, "shared.a", MTL_OWNER_SHARED, MTL_SHAPE(2, 2), c);
    c.a = 3;
    mtl_tensor *bf = mtl_buffer_add(P, "shared.running", MTL_OWNER_SHARED, MTL_SHAPE(6), c);
    c.a = 4;
    mtl_tensor *t0 = mtl_param_add(P, "task0.w", 0, MTL_SHAPE(5), c);
    c.a = 5;
    mtl_tensor *sb = mtl_param_add(P, "shared.b", MTL_OWNER_SHARED, MTL_SHAPE(3), c);
    CHECK(t1 && sa && bf && t0 && sb, "registration failed: %s", mtl_last_error());
    CHECK(t1 && t1->data == NULL, "data before finalize");
    CHECK(!mtl_params_finalized(P), "finalized early");
    CHECK_OK(mtl_params_finalize(P, 0));
    CHECK(mtl_params_finalized(P), "not finalized");
    CHECK(mtl_params_size(P) == 15, "size %lld", (long long)mtl_params_size(P));
    CHECK(mtl_params_shared_size(P) == 7, "shared size %lld", (long long)mtl_params_shared_size(P));
    CHECK(mtl_params_count(P) == 5, "count %d", mtl_params_count(P));
    float *D = mtl_params_data(P), *G = mtl_params_grad(P);
    static const struct {
        const char *name;
        int64_t offset;
        float value;
        int owner;
    } want[] = {{"shared.a", 0, 2, -1}, {"shared.b", 4, 5, -1}, {"task0.w", 7, 4, 0}, {"task1.w", 12, 1, 1}};
    for (int i = 0; i < 4; i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        CHECK(pi && strcmp(pi->name, want[i].name) == 0, "info %d is '%s', expected '%s'", i, pi ? pi->name : "?",
              want[i].name);
        if (!pi) continue;
        CHECK(pi->offset == want[i].offset, "%s: offset %lld, expected %lld", pi->name, (long long)pi->offset,
              (long long)want[i].offset);
        CHECK(pi->trainable && pi->owner == want[i].owner, "%s: trainable %d owner %d", pi->name, pi->trainable,
              pi->owner);
        CHECK(pi->tensor->data == D + want[i].offset, "%s: data not at its offset", pi->name);
        CHECK(pi->tensor->grad == G + want[i].offset, "%s: grad not at its offset", pi->name);
        CHECK(pi->tensor->id == i, "%s: id %d", pi->name, pi->tensor->id);
        CHECK((pi->tensor->flags & (MTL_TENSOR_PARAM | MTL_TENSOR_REQUIRES_GRAD)) ==
                  (MTL_TENSOR_PARAM | MTL_TENSOR_REQUIRES_GRAD), "%s: flags %u", pi->name, pi->tensor->flags);
        for (int64_t j = 0; j < pi->tensor->size; j++)
            CHECK(pi->tensor->data[j] == want[i].value, "%s[%lld] = %g (initialised from another entry?)", pi->name,
                  (long long)j, pi->tensor->data[j]);
        CHECK(mtl_params_find(P, want[i].name) == pi->tensor, "find %s", want[i].name);
    }
    /* the buffer: after every parameter, outside the trainable block */
    const mtl_param_info *bi = mtl_params_info(P, 4);
    CHECK(bi && bi->tensor == bf && !bi->trainable, "buffer is not last in info order");
    CHECK(bf->grad == NULL && !(bf->flags & MTL_TENSOR_REQUIRES_GRAD), "buffer has a gradient");
    CHECK(bf->data && (bf->data + bf->size <= D || bf->data >= D + 15), "buffer inside the trainable block");
    CHECK(bf->data && bf->data[0] == 3 && bf->data[5] == 3, "buffer not initialised");
    int64_t s, e;
    mtl_params_owner_range(P, MTL_OWNER_SHARED, &s, &e);
    CHECK(s == 0 && e == 7, "shared range [%lld, %lld)", (long long)s, (long long)e);
    mtl_params_owner_range(P, 0, &s, &e);
    CHECK(s == 7 && e == 12, "task 0 range [%lld, %lld)", (long long)s, (long long)e);
    mtl_params_owner_range(P, 1, &s, &e);
    CHECK(s == 12 && e == 15, "task 1 range [%lld, %lld)", (long long)s, (long long)e);
    mtl_params_owner_range(P, 2, &s, &e);
    CHECK(s == e, "task 2 (no parameters) range [%lld, %lld) not empty", (long long)s, (long long)e);
    mtl_params_owner_range(P, 0, NULL, NULL);
    /* gradients: zero at start, zero_grad clears */
    int zero = 1;
    for (int i = 0; i < 15; i++) zero &= G[i] == 0.0f;
    CHECK(zero, "gradient block not zeroed at finalize");
    for (int i = 0; i < 15; i++) G[i] = 1.0f;
    mtl_params_zero_grad(P);
    zero = 1;
    for (int i = 0; i < 15; i++) zero &= G[i] == 0.0f;
    CHECK(zero, "zero_grad");
    CHECK(mtl_params_info(P, 5) == NULL && mtl_params_info(P, -1) == NULL, "info out of range");
    CHECK(mtl_params_find(P, "nope") == NULL && mtl_params_find(P, NULL) == NULL, "find of unknown names");
    mtl_params_free(P);

    /* only task parameters: shared size 0; only buffers: size 0 */
    CHECK_OK(mtl_params_create(&P));
    CHECK(mtl_param_add(P, "a", 2, MTL_SHAPE(4), MTL_INIT_Z) != NULL, "add");
    CHECK(mtl_buffer_add(P, "b", -1, MTL_SHAPE(4), MTL_INIT_Z) != NULL, "add buffer");
    CHECK_OK(mtl_params_finalize(P, 0));
    CHECK(mtl_params_shared_size(P) == 0 && mtl_params_size(P) == 4, "shared %lld size %lld",
          (long long)mtl_params_shared_size(P), (long long)mtl_params_size(P));
    mtl_params_owner_range(P, 2, &s, &e);
    CHECK(s == 0 && e == 4, "range [%lld, %lld)", (long long)s, (long long)e);
    mtl_params_owner_range(P, MTL_OWNER_SHARED, &s, &e);
    CHECK(s == e, "shared range of buffers only: [%lld, %lld)", (long long)s, (long long)e);
    mtl_params_free(P);
}

static void params_errors(void) {
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    CHECK(mtl_param_add(P, "x.w", -1, MTL_SHAPE(2), MTL_INIT_Z) != NULL, "add");
    mtl_clear_error();
    CHECK(mtl_param_add(P, "x.w", 0, MTL_SHAPE(3), MTL_INIT_Z) == NULL, "duplicate name accepted");
    CHECK(strstr(mtl_last_error(), "x.w") != NULL, "message '%s' does not name the parameter", mtl_last_error());
    CHECK(mtl_buffer_add(P, "x.w", 0, MTL_SHAPE(3), MTL_INIT_Z) == NULL, "buffer with a parameter's name accepted");
    mtl_clear_error();
    CHECK(mtl_param_add(P, "e", -1, MTL_SHAPE(0), MTL_INIT_Z) == NULL, "empty shape [0] accepted");
    CHECK(mtl_last_error()[0], "no message");
    CHECK(mtl_param_add(P, "e", -1, MTL_SHAPE(3, 0), MTL_INIT_Z) == NULL, "empty shape [3, 0] accepted");
    CHECK(mtl_param_add(P, "e", -1, MTL_SHAPE(-3), MTL_INIT_Z) == NULL, "negative shape accepted");
    CHECK(mtl_param_add(P, "e", -1, (mtl_shape){5, {1, 1, 1, 1}}, MTL_INIT_Z) == NULL, "5-d shape accepted");
    CHECK(mtl_param_add(P, "e", -2, MTL_SHAPE(3), MTL_INIT_Z) == NULL, "owner -2 accepted");
    char name[MTL_NAME_MAX + 8];
    memset(name, 'n', sizeof name);
    name[MTL_NAME_MAX] = '\0'; /* 96 characters: no room for the terminator */
    mtl_clear_error();
    CHECK(mtl_param_add(P, name, -1, MTL_SHAPE(1), MTL_INIT_Z) == NULL, "96-character name accepted");
    CHECK(mtl_last_error()[0], "no message");
    name[MTL_NAME_MAX - 1] = '\0'; /* 95 is the longest */
    mtl_tensor *longest = mtl_param_add(P, name, -1, MTL_SHAPE(1), MTL_INIT_Z);
    CHECK(longest != NULL, "95-character name refused: %s", mtl_last_error());
    CHECK(mtl_params_find(P, name) == longest, "95-character name not found");
    CHECK(mtl_param_add(NULL, "a", -1, MTL_SHAPE(1), MTL_INIT_Z) == NULL, "NULL params accepted");
    CHECK(mtl_param_add(P, NULL, -1, MTL_SHAPE(1), MTL_INIT_Z) == NULL, "NULL name accepted");
    CHECK(mtl_params_set_init(P, NULL, MTL_INIT_Z) == MTL_ERR_ARG, "set_init(NULL)");
    CHECK(mtl_params_set_init(NULL, longest, MTL_INIT_Z) == MTL_ERR_ARG, "set_init(NULL P)");
    mtl_tensor foreign = {0};
    CHECK(mtl_params_set_init(P, &foreign, MTL_INIT_Z) == MTL_ERR_ARG, "set_init of a foreign tensor");
    CHECK(mtl_params_count(P) == 2, "failed registrations were counted: %d", mtl_params_count(P));
    CHECK_OK(mtl_params_finalize(P, 0));
    mtl_clear_error();
    CHECK(mtl_param_add(P, "late", -1, MTL_SHAPE(1), MTL_INIT_Z) == NULL, "registration after finalize");
    CHECK(mtl_last_error()[0], "no message");
    CHECK(mtl_buffer_add(P, "late", -1, MTL_SHAPE(1), MTL_INIT_Z) == NULL, "buffer after finalize");
    CHECK(mtl_params_finalize(P, 0) == MTL_ERR_STATE, "finalize twice");
    CHECK(mtl_params_set_init(P, longest, MTL_INIT_Z) == MTL_ERR_STATE, "set_init after finalize");
    CHECK(mtl_params_count(P) == 2 && mtl_params_size(P) == 3, "count %d size %lld", mtl_params_count(P),
          (long long)mtl_params_size(P));
    mtl_params_free(P);
    CHECK(mtl_params_create(NULL) == MTL_ERR_ARG, "create(NULL)");
    CHECK(mtl_params_finalize(NULL, 0) == MTL_ERR_ARG, "finalize(NULL)");
    mtl_params_free(NULL);
}

static void params_init(void) {
    enum { BIG = 200000 };
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    mtl_tensor *z = mtl_param_add(P, "z", -1, MTL_SHAPE(7), (mtl_init){MTL_INIT_ZEROS, 5, 5});
    mtl_tensor *o = mtl_param_add(P, "o", 0, MTL_SHAPE(7), (mtl_init){MTL_INIT_ONES, 5, 5});
    mtl_tensor *c = mtl_param_add(P, "c", 1, MTL_SHAPE(7), (mtl_init){MTL_INIT_CONST, -2.5f, 0});
    mtl_tensor *u = mtl_param_add(P, "u", -1, MTL_SHAPE(BIG), (mtl_init){MTL_INIT_UNIFORM, -0.3f, 0.7f});
    mtl_tensor *n = mtl_param_add(P, "n", 0, MTL_SHAPE(500, 400), (mtl_init){MTL_INIT_NORMAL, 1.5f, 2.0f});
    mtl_tensor *s = mtl_param_add(P, "s", 0, MTL_SHAPE(16), MTL_INIT_Z);
    CHECK(s && mtl_params_set_init(P, s, (mtl_init){MTL_INIT_CONST, 9, 0}) == MTL_OK, "set_init");
    CHECK_OK(mtl_params_finalize(P, 2024));
    int ok = 1;
    for (int i = 0; i < 7; i++) ok &= z->data[i] == 0.0f && o->data[i] == 1.0f && c->data[i] == -2.5f;
    CHECK(ok, "zeros/ones/const");
    ok = 1;
    for (int i = 0; i < 16; i++) ok &= s->data[i] == 9.0f;
    CHECK(ok, "set_init was ignored");
    double mean, var;
    float mn, mx;
    moments(u->data, BIG, &mean, &var, &mn, &mx);
    CHECK(mn >= -0.3f && mx < 0.7f, "uniform range [%g, %g]", mn, mx);
    CHECK(mn < -0.29f && mx > 0.69f, "uniform does not fill its range: [%g, %g]", mn, mx);
    CHECK(fabs(mean - 0.2) < 0.005, "uniform mean %g", mean);
    CHECK(fabs(var / (1.0 / 12) - 1) < 0.02, "uniform variance %g", var);
    moments(n->data, n->size, &mean, &var, &mn, &mx);
    CHECK(fabs(mean - 1.5) < 0.02, "normal mean %g", mean);
    CHECK(fabs(sqrt(var) / 2.0 - 1) < 0.01, "normal std %g", sqrt(var));
    /* parameter i draws from stream i of its registration order (u is #3, n is #4) */
    float *ref = malloc(sizeof(float) * 200000);
    mtl_rng r;
    mtl_rng_init(&r, 2024, 3);
    mtl_rng_uniform(&r, ref, BIG, -0.3f, 0.7f);
    CHECK(memcmp(ref, u->data, sizeof(float) * BIG) == 0, "uniform parameter is not stream 3 of the seed");
    mtl_rng_init(&r, 2024, 4);
    mtl_rng_normal(&r, ref, 200000, 1.5f, 2.0f);
    CHECK(memcmp(ref, n->data, sizeof(float) * 200000) == 0, "normal parameter is not stream 4 of the seed");
    free(ref);

    /* same seed, same values; another seed, other values; registration order, not owner, picks the stream */
    mtl_params *Q, *R;
    CHECK_OK(mtl_params_create(&Q));
    CHECK_OK(mtl_params_create(&R));
    mtl_tensor *qa = mtl_param_add(Q, "a", 1, MTL_SHAPE(64), (mtl_init){MTL_INIT_NORMAL, 0, 1});
    mtl_tensor *qb = mtl_param_add(Q, "b", -1, MTL_SHAPE(64), (mtl_init){MTL_INIT_NORMAL, 0, 1});
    mtl_tensor *ra = mtl_param_add(R, "a", 1, MTL_SHAPE(64), (mtl_init){MTL_INIT_NORMAL, 0, 1});
    mtl_tensor *rb = mtl_param_add(R, "b", -1, MTL_SHAPE(64), (mtl_init){MTL_INIT_NORMAL, 0, 1});
    CHECK_OK(mtl_params_finalize(Q, 7));
    CHECK_OK(mtl_params_finalize(R, 7));
    CHECK(memcmp(qa->data, ra->data, 64 * sizeof(float)) == 0 && memcmp(qb->data, rb->data, 64 * sizeof(float)) == 0,
          "same seed, different values");
    CHECK(memcmp(qa->data, qb->data, 64 * sizeof(float)) != 0, "two parameters drew the same values");
    mtl_params_free(R);
    CHECK_OK(mtl_params_create(&R));
    ra = mtl_param_add(R, "a", 1, MTL_SHAPE(64), (mtl_init){MTL_INIT_NORMAL, 0, 1});
    rb = mtl_param_add(R, "b", -1, MTL_SHAPE(64), (mtl_init){MTL_INIT_NORMAL, 0, 1});
    CHECK_OK(mtl_params_finalize(R, 8));
    int same = 0;
    for (int i = 0; i < 64; i++) same += qa->data[i] == ra->data[i];
    CHECK(same < 3, "seeds 7 and 8 agree at %d of 64 values", same);
    mtl_params_free(Q);
    mtl_params_free(R);
    mtl_params_free(P);
}

int main(void) {
    RUN(rng_philox_known_answers);
    RUN(rng_reproducible);
    RUN(rng_uniform_moments);
    RUN(rng_uniform_upper_bound);
    RUN(rng_normal_moments);
    RUN(rng_permutation);
    RUN(rng_below);
    RUN(rng_threads_identical);
    RUN(arena_alignment_and_overlap);
    RUN(arena_steady_state);
    RUN(tape_steady_state);
    RUN(tape_null_handling);
    RUN(tape_backward_errors);
    RUN(params_layout);
    RUN(params_errors);
    RUN(params_init);
    return th_summary();
}
