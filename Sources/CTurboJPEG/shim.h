#ifndef L3RS_CTURBOJPEG_SHIM_H
#define L3RS_CTURBOJPEG_SHIM_H
// libjpeg-turbo's TurboJPEG API: whole-image decompression and compression with error codes and messages
// instead of libjpeg's setjmp error handling, which Swift cannot use.
#include <stddef.h>
#include <turbojpeg.h>
#endif
