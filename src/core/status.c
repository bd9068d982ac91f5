/* Status codes and the per-thread message of the last failure. */
#include <stdarg.h>
#include <stdio.h>

#include "mtl/core.h"

static _Thread_local char last_message[512];
static _Thread_local mtl_status last_status;

const char *mtl_status_name(mtl_status s) {
    switch (s) {
    case MTL_OK: return "ok";
    case MTL_ERR_ARG: return "invalid argument";
    case MTL_ERR_SHAPE: return "shape mismatch";
    case MTL_ERR_RANGE: return "index out of range";
    case MTL_ERR_NOMEM: return "out of memory";
    case MTL_ERR_IO: return "I/O error";
    case MTL_ERR_FORMAT: return "bad format";
    case MTL_ERR_NUMERIC: return "non-finite number";
    case MTL_ERR_STATE: return "invalid state";
    }
    return "unknown status";
}

const char *mtl_last_error(void) { return last_message; }
mtl_status mtl_last_status(void) { return last_status; }

void mtl_clear_error(void) {
    last_message[0] = '\0';
    last_status = MTL_OK;
}

mtl_status mtl_error(mtl_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    last_status = s;
    return s;
}

const char *mtl_version(void) {
#ifdef MTL_VERSION_STRING
    return MTL_VERSION_STRING;
#else
    return "unknown";
#endif
}
