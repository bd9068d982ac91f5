/* What the AVX-512 kernels of src/ops share: the target attributes (the kernels are compiled
 * for AVX-512F through function attributes and chosen at run time, so the library runs on any
 * x86-64), the tail mask, and the shuffles between rows and windows of 4 positions. */
#ifndef MTL_OPS_AVX512_H
#define MTL_OPS_AVX512_H

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_AVX512_KERNELS 1
#include <immintrin.h>
#define TGT __attribute__((target("avx512f")))
#define INL static inline __attribute__((always_inline)) TGT

/* the first n lanes (all for n >= 16, none for n <= 0) */
static inline __mmask16 tail_mask(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* the low and high 8 floats of v widened to double */
INL __m512d lo_pd(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
INL __m512d hi_pd(__m512 v) {
    return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/* 64 floats a|b|c|d -> 4 phases: ph[k] lane j = element 4 j + k */
INL void split4(__m512 a, __m512 b, __m512 c, __m512 d, __m512 ph[4]) {
    /* lanes 0-7: phase k of the 8 windows in (a, b); then the two halves joined */
    const __m512i k0 = _mm512_set_epi32(28, 24, 20, 16, 12, 8, 4, 0, 28, 24, 20, 16, 12, 8, 4, 0);
    for (int k = 0; k < 4; k++) {
        __m512i ik = _mm512_add_epi32(k0, _mm512_set1_epi32(k));
        __m512 lo = _mm512_permutex2var_ps(a, ik, b), hi = _mm512_permutex2var_ps(c, ik, d);
        ph[k] = _mm512_shuffle_f32x4(lo, hi, 0x44);
    }
}

/* the inverse: 4 phases -> 64 floats out[0..3] (element 4 j + k = ph[k] lane j) */
INL void join4(const __m512 ph[4], __m512 out[4]) {
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
    const __m512i qa = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0), qb = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    __m512d t01l = _mm512_castps_pd(_mm512_permutex2var_ps(ph[0], lo, ph[1]));
    __m512d t01h = _mm512_castps_pd(_mm512_permutex2var_ps(ph[0], hi, ph[1]));
    __m512d t23l = _mm512_castps_pd(_mm512_permutex2var_ps(ph[2], lo, ph[3]));
    __m512d t23h = _mm512_castps_pd(_mm512_permutex2var_ps(ph[2], hi, ph[3]));
    out[0] = _mm512_castpd_ps(_mm512_permutex2var_pd(t01l, qa, t23l));
    out[1] = _mm512_castpd_ps(_mm512_permutex2var_pd(t01l, qb, t23l));
    out[2] = _mm512_castpd_ps(_mm512_permutex2var_pd(t01h, qa, t23h));
    out[3] = _mm512_castpd_ps(_mm512_permutex2var_pd(t01h, qb, t23h));
}
#else
#define HAVE_AVX512_KERNELS 0
#endif
#endif
