/* Shape helpers. Tensors themselves are created by a tape (activations) or an
 * mtl_params (parameters). */
#include <math.h>
#include <stdio.h>

#include "mtl/core.h"

mtl_shape mtl_tensor_shape(const mtl_tensor *x) {
    mtl_shape s = {x->ndim, {0}};
    for (int i = 0; i < x->ndim; i++) s.d[i] = x->shape[i];
    return s;
}

bool mtl_shape_equal(mtl_shape a, mtl_shape b) {
    if (a.ndim != b.ndim) return false;
    for (int i = 0; i < a.ndim; i++)
        if (a.d[i] != b.d[i]) return false;
    return true;
}

int64_t mtl_shape_size(mtl_shape s) {
    if (s.ndim < 0 || s.ndim > MTL_MAX_DIMS) return -1;
    int64_t n = 1;
    for (int i = 0; i < s.ndim; i++) {
        if (s.d[i] < 0) return -1;
        n *= s.d[i];
        if (n > ((int64_t)1 << 40)) return -1;
    }
    return n;
}

char *mtl_shape_str(mtl_shape s, char *buf, size_t cap) {
    size_t k = 0;
    if (cap == 0) return buf;
    k += (size_t)snprintf(buf + k, cap - k, "[");
    for (int i = 0; i < s.ndim && i < MTL_MAX_DIMS && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ", %d" : "%d", s.d[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

mtl_status mtl_check_finite(const float *x, int64_t n, const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return mtl_error(MTL_ERR_NUMERIC, "%s: element %lld is %s (expected a finite number)", what, (long long)i,
                             isnan(x[i]) ? "NaN" : "infinite");
    return MTL_OK;
}
