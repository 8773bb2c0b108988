// OpenBLAS's CBLAS interface plus its threading and core-name extensions (openblas_get_corename, ...).
#ifndef L3RS_CBLAS_SHIM_H
#define L3RS_CBLAS_SHIM_H
#include <cblas.h>
#endif
