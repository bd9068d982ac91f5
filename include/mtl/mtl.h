/* libmtl: multi-task learning with attention, in C. One include for everything. */
#ifndef MTL_MTL_H
#define MTL_MTL_H
#include "mtl/core.h"
#include "mtl/data.h"
#include "mtl/tabular.h"
#include "mtl/io.h"
#include "mtl/model.h"
#include "mtl/nn.h"
#include "mtl/ops.h"
#include "mtl/optim.h"
#include "mtl/tape.h"
#include "mtl/train.h"
#endif
