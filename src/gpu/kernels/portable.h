/*
 * One source, two compilers: the MPC kernels are CUDA C that also compiles as plain C99 (gcc), so
 * the exact code that runs on a GPU is checked on every CPU test run. Under NVRTC (__CUDACC__) the
 * qualifiers are CUDA's; under gcc a kernel is an ordinary exported function that the host calls
 * once per batch range [b0, b1) (dmpc_thread_index maps the "thread" to the element).
 */
#ifndef DMPC_PORTABLE_H
#define DMPC_PORTABLE_H

#ifdef __CUDACC__
#define DMPC_KERNEL extern "C" __global__ void
#define DMPC_FN static __device__ __forceinline__
#define DMPC_RESTRICT __restrict__
typedef unsigned long long dmpc_u64;
#define DMPC_ELEMENT_LOOP(b, B) \
  for (int b = blockIdx.x * blockDim.x + threadIdx.x; b < (B); b += gridDim.x * blockDim.x)
#define DMPC_SQRT sqrt
#define DMPC_FABS fabs
#define DMPC_ISFINITE(x) isfinite(x)
#define DMPC_INF (__longlong_as_double(0x7ff0000000000000ULL))
#else
#include <math.h>
#include <stdint.h>
#include <stddef.h>
#define DMPC_KERNEL __attribute__((visibility("default"))) void
#define DMPC_FN static inline
#define DMPC_RESTRICT restrict
typedef uint64_t dmpc_u64;
/* the C build is called with an explicit element range (one call per worker or the whole batch) */
#define DMPC_ELEMENT_LOOP(b, B) for (int b = a.b0; b < ((B) < a.b1 ? (B) : a.b1); b++)
#define DMPC_SQRT sqrt
#define DMPC_FABS fabs
#define DMPC_ISFINITE(x) isfinite(x)
#define DMPC_INF (1.0 / 0.0)
#endif

#endif
