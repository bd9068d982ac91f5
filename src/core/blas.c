#include "core/blas.h"

#include <cblas.h>
#include <omp.h>

#include "mtl/core.h"

void mtl_sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
               int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* C = beta C */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
                lda, B, ldb, beta, C, ldc);
}

void mtl_sgemm_par(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc) {
    int nt = mtl_threads_for((double)M * N * K);
    if (nt <= 1) {
        mtl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (M >= 4 * nt) { /* split rows of C: rows of op(A) */
#pragma omp parallel num_threads(nt)
        {
            int t = omp_get_thread_num(), n = omp_get_num_threads();
            int r0 = (int)((long)M * t / n), r1 = (int)((long)M * (t + 1) / n);
            const float *Ap = ta ? A + r0 : A + (size_t)r0 * lda;
            mtl_sgemm(ta, tb, r1 - r0, N, K, alpha, Ap, lda, B, ldb, beta, C + (size_t)r0 * ldc, ldc);
        }
    } else { /* split columns of C: columns of op(B) */
#pragma omp parallel num_threads(nt)
        {
            int t = omp_get_thread_num(), n = omp_get_num_threads();
            int c0 = (int)((long)N * t / n), c1 = (int)((long)N * (t + 1) / n);
            const float *Bp = tb ? B + (size_t)c0 * ldb : B + c0;
            mtl_sgemm(ta, tb, M, c1 - c0, K, alpha, A, lda, Bp, ldb, beta, C + c0, ldc);
        }
    }
}
