/* In-memory multi-task classification data: signals [n, channels, length] with one
 * class label per task. Sources fill an mtl_dataset. */
#ifndef MTL_DATA_H
#define MTL_DATA_H

#include "mtl/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTL_TASK_NAME_MAX 32

typedef struct {
    int n, channels, length;
    float *x; /* [n, channels, length] */
    int n_tasks;
    int n_classes[MTL_MAX_TASKS];
    char task_names[MTL_MAX_TASKS][MTL_TASK_NAME_MAX];
    int32_t *y[MTL_MAX_TASKS]; /* [n] labels per task */
} mtl_dataset;

mtl_status mtl_dataset_alloc(mtl_dataset *d, int n, int channels, int length, int n_tasks);
void mtl_dataset_free(mtl_dataset *d);
/* checks labels against n_classes and signals for NaN/Inf; names the bad sample */
mtl_status mtl_dataset_validate(const mtl_dataset *d, const char *what);

/* Generated two-task data (src/data/synthetic.c): noisy tones whose frequency gives
 * task 0 "frequency" (4 classes) and whose amplitude gives task 1 "amplitude"
 * (3 classes). Seeded; needs no files. */
mtl_status mtl_synth_tones(mtl_dataset *d, int n, int length, float noise, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
