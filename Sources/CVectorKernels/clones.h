#ifndef L3RS_CVECTORKERNELS_CLONES_H
#define L3RS_CVECTORKERNELS_CLONES_H

// An AVX2+FMA build chosen at load time where the CPU has it, so the package needs no -march flag.
#define L3RS_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))

#endif
