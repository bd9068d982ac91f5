/* Atomic file writing: write path.tmp, flush, fsync, rename over path. A crash or a
 * failed write never leaves a half-written file under the final name. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtl/io.h"

mtl_status mtl_afile_open(mtl_afile *a, const char *path) {
    if (!a || !path || !*path) return mtl_error(MTL_ERR_ARG, "afile_open: null or empty path");
    memset(a, 0, sizeof *a);
    if (snprintf(a->path, sizeof a->path, "%s", path) >= (int)sizeof a->path ||
        snprintf(a->tmp, sizeof a->tmp, "%s.tmp", path) >= (int)sizeof a->tmp)
        return mtl_error(MTL_ERR_ARG, "%s: path too long", path);
    a->f = fopen(a->tmp, "wb");
    if (!a->f) return mtl_error(MTL_ERR_IO, "%s: cannot create: %s", a->tmp, strerror(errno));
    return MTL_OK;
}

mtl_status mtl_afile_commit(mtl_afile *a) {
    if (!a || !a->f) return mtl_error(MTL_ERR_STATE, "afile_commit: no file open");
    int ok = !ferror(a->f) && fflush(a->f) == 0 && fsync(fileno(a->f)) == 0;
    int e = errno;
    ok = (fclose(a->f) == 0) && ok;
    a->f = NULL;
    if (!ok) {
        remove(a->tmp);
        return mtl_error(MTL_ERR_IO, "%s: write failed: %s", a->tmp, strerror(e ? e : EIO));
    }
    if (rename(a->tmp, a->path) != 0) {
        e = errno;
        remove(a->tmp);
        return mtl_error(MTL_ERR_IO, "%s: cannot rename %s into place: %s", a->path, a->tmp, strerror(e));
    }
    return MTL_OK;
}

void mtl_afile_abort(mtl_afile *a) {
    if (!a || !a->f) return;
    fclose(a->f);
    a->f = NULL;
    remove(a->tmp);
}
