#ifndef L3RS_CPNG_SHIM_H
#define L3RS_CPNG_SHIM_H
// libpng's simplified API (png_image_*): whole-image reads and writes that report errors in the image's
// message field rather than through longjmp, which Swift cannot catch.
#include <png.h>
#endif
