/* A small JSON reader (DOM) for safetensors headers and configuration files. */
#ifndef MTL_JSON_H
#define MTL_JSON_H
#include <stddef.h>

#include "mtl/core.h"

typedef enum { MTL_JSON_NULL, MTL_JSON_BOOL, MTL_JSON_NUMBER, MTL_JSON_STRING, MTL_JSON_ARRAY, MTL_JSON_OBJECT } mtl_json_type;

typedef struct mtl_json mtl_json;
struct mtl_json {
    mtl_json_type type;
    double number;   /* NUMBER, BOOL (0/1) */
    char *string;    /* STRING (NUL-terminated, unescaped) */
    char *key;       /* the key when this value is an object member */
    mtl_json *child; /* ARRAY/OBJECT: first element */
    mtl_json *next;  /* next sibling */
    int count;       /* ARRAY/OBJECT: number of elements */
};

/* parses len bytes; on error the message names `what` and the byte offset */
mtl_status mtl_json_parse(const char *text, size_t len, const char *what, mtl_json **out);
void mtl_json_free(mtl_json *v);
const mtl_json *mtl_json_get(const mtl_json *obj, const char *key);
#endif
