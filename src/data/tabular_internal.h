/* Shared by the description-file code (src/data/tabdesc.c) and the reader/encoder
 * (src/data/tabular.c). */
#ifndef MTL_DATA_TABULAR_INTERNAL_H
#define MTL_DATA_TABULAR_INTERNAL_H
#include "mtl/tabular.h"

#define MTL__TAB_MAX_IDS ((1 << 24) - 1) /* ids are stored as float: exact up to 2^24 */

/* copies a string that must fit (with its NUL) into dst[cap] */
bool mtl__tab_copy_str(char *dst, size_t cap, const char *src);
const char *mtl__tab_kind_name(mtl_col_kind k);
bool mtl__tab_kind_parse(const char *t, mtl_col_kind *k);
/* the index of the column called name, or -1 */
int mtl__tab_find_column(const mtl_tab_schema *s, const char *name);
/* the checks shared by the description parser and from_json; messages start with `where` */
mtl_status mtl__tab_schema_check(const mtl_tab_schema *s, const char *where);
#endif
