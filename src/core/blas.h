/* Row-major GEMM through CBLAS (OpenBLAS). BLAS itself always runs on one thread;
 * mtl_sgemm_par splits the rows of C over mtl's OpenMP threads instead, so the
 * two thread pools never nest. */
#ifndef MTL_BLAS_H
#define MTL_BLAS_H
#include <stdbool.h>

/* C[M,N] = alpha op(A) op(B) + beta C, op(A) is [M,K], op(B) is [K,N]; lda/ldb/ldc are
 * the row strides of A, B, C as stored. Single-threaded: safe inside parallel regions. */
void mtl_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc);
/* Same, parallel over blocks of rows of C (or of columns when M is small). Call it
 * outside parallel regions. Deterministic for a given thread count (each element of C
 * is computed by one thread). */
void mtl_sgemm_par(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc);
/* number of threads for a loop of `work` multiply-adds (1 when too small to pay off) */
int mtl_threads_for(double work);
#endif
