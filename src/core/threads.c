/* Thread control: mtl's own OpenMP threads; BLAS pinned to one thread. */
#include <omp.h>
#include <stdio.h>

#include <cblas.h>

#include "core/blas.h"
#include "mtl/core.h"

static int mtl_threads = 0; /* 0: not set yet */

static void blas_single_thread(void) {
    static int done = 0;
    if (!done) {
        openblas_set_num_threads(1);
        done = 1;
    }
}

mtl_status mtl_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    if (n > 1024) return mtl_error(MTL_ERR_ARG, "threads: %d is more than 1024", n);
    blas_single_thread();
    mtl_threads = n;
    omp_set_num_threads(n);
    return MTL_OK;
}

int mtl_get_threads(void) {
    if (mtl_threads == 0) mtl_set_threads(omp_get_max_threads());
    return mtl_threads;
}

int mtl_threads_for(double work) {
    int n = mtl_get_threads();
    if (n <= 1 || work < 32768.0) return 1;
    int by_work = (int)(work / 32768.0);
    return by_work < n ? (by_work < 1 ? 1 : by_work) : n;
}

const char *mtl_build_info(void) {
    static char info[256];
    blas_single_thread();
    snprintf(info, sizeof info, "mtl %s; %s; OpenMP %d, %d processors; %d thread(s)", mtl_version(),
             openblas_get_config(), _OPENMP, omp_get_num_procs(), mtl_get_threads());
    return info;
}
