// The first-layer convolution kernels of Sources/CVectorKernels/convolution.c against each other and a
// one-thread OpenBLAS sgemm ceiling measured in the same run (minimum of N runs each, which a loaded shared
// machine disturbs less than a median). Not part of the build; docs/performance.md (branch convkern) quotes it.
//
//   S=Sources/CVectorKernels
//   clang -O3 -fno-math-errno -ffp-contract=off -I$S/include -I$S benchmarks/first_layer_kernels.c \
//       $S/convolution.c -o /tmp/first_layer_kernels -lopenblas -lm
//   OPENBLAS_NUM_THREADS=1 /tmp/first_layer_kernels 1 28 32     # channels, side, output channels
#include "CVectorKernels.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static double ceiling(void){ int n=512; float *a=malloc(4L*n*n),*b=malloc(4L*n*n),*c=malloc(4L*n*n);
  for(long i=0;i<(long)n*n;i++){a[i]=(i%7)*0.1f;b[i]=(i%5)*0.1f;} double best=1e9;
  for(int r=0;r<60;r++){double t=now(); cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,n,n,n,1,a,n,b,n,0,c,n); t=now()-t; if(t<best)best=t;}
  free(a);free(b);free(c); return 2.0*n*n*n/best/1e9; }
int main(int argc,char**argv){
  if(argc<4){fprintf(stderr,"usage: %s CHANNELS SIDE OUTPUT_CHANNELS\n",argv[0]);return 2;}
  int C=atoi(argv[1]),H=atoi(argv[2]),W=H,O=atoi(argv[3]),N=128;
  size_t vw=W%8==0?W:(W+31)/32*32, pw=vw+2, ph=H+2, op=(O+7)/8*8, P=H*W;
  float *x=malloc(4L*N*C*P),*pad=aligned_alloc(64,4*(C*ph*pw+16)),*w=malloc(4L*O*9*C),*b=malloc(4L*O);
  float *y=aligned_alloc(64,4L*N*O*P),*dy=aligned_alloc(64,4L*N*O*P),*tr=aligned_alloc(64,4L*P*op);
  float *sums=calloc(O*C*72+C*9*op,4),*db=calloc(O,4);
  for(long i=0;i<(long)(N*C*P);i++)x[i]=(i%13)*0.1f-0.5f; for(int i=0;i<O*9*C;i++)w[i]=(i%7)*0.1f-0.3f; for(int i=0;i<O;i++)b[i]=0.01f*i;
  for(long i=0;i<(long)(N*O*P);i++)dy[i]=(i%11)*0.1f-0.4f; memset(y,0,4L*N*O*P);
  double ceil1=ceiling(); double best[5]={1e9,1e9,1e9,1e9,1e9};
  for(int r=0;r<30;r++) for(int k=0;k<5;k++){ double t=now();
    for(int n=0;n<N;n++){ l3rs_conv_pad(x+(long)n*C*P,pad,C,H,W,1,ph,pw,1);
      if(k==0) l3rs_conv_direct_forward(pad,w,b,y+(long)n*O*P,C,ph,pw,O,3,H,W);
      if(k==1) l3rs_conv3x3_rows_forward(pad,w,b,y+(long)n*O*P,C,ph,pw,O,H,W,0);
      if(k==2) l3rs_conv3x3_rows_forward(pad,w,b,y+(long)n*O*P,C,ph,pw,O,H,W,1);
      if(k==3) l3rs_conv3x3_direct_weight_gradient(pad,dy+(long)n*O*P,sums,db,tr,C,ph,pw,O,1,H,W);
      if(k==4) l3rs_conv3x3_rows_weight_gradient(pad,dy+(long)n*O*P,NULL,sums,db,C,ph,pw,O,H,W);
    } t=now()-t; if(t<best[k])best[k]=t; }
  double ceil2=ceiling(), ce=(ceil1>ceil2?ceil1:ceil2), fl=2.0*N*O*P*9*C;
  const char*names[5]={"fwd pixel-vectorised (main)","fwd row-blocked","fwd row-blocked + ReLU","dW by channels (main)","dW row-blocked"};
  printf("%d→%d %d² batch %d, sgemm ceiling %.1f GFLOP/s (%.1f before, %.1f after)\n",C,O,H,N,ce,ceil1,ceil2);
  for(int k=0;k<5;k++) printf("  %-28s %.3f ms %5.1f GFLOP/s %5.1f%%\n",names[k],best[k]*1e3,fl/best[k]/1e9,100*fl/best[k]/1e9/ce);
  printf("  fwd+dW main %.1f%%, new %.1f%%\n", 100*2*fl/(best[0]+best[3])/1e9/ce, 100*2*fl/(best[1]+best[4])/1e9/ce);
}
