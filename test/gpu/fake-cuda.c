/*
 * A stand-in for libcuda.so.1 on machines without a GPU (test/gpu/cuda-driver.test.ts): the driver-API
 * entry points src/gpu/cuda.ts calls, with host memory for device memory and cuLaunchKernel calling the
 * C build of the same kernel (loaded from $FAKE_CUDA_KERNELS) with kernelParams[0], the packed argument
 * block. It checks the koffi bindings (signatures, out-parameters, error strings, the launch
 * marshalling and the block-size retry), not the GPU.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*kernel_fn)(const void *args);
static void *kernels;
static int ctx_token, mod_token, stream_token;
static unsigned last_block, launches, max_block = 1024;
static int device_count = 1;

int cuInit(unsigned flags) {
  if (flags != 0) return 1;
  const char *cnt = getenv("FAKE_CUDA_DEVICES");
  if (cnt) device_count = atoi(cnt);
  if (device_count == 0) return 100; /* CUDA_ERROR_NO_DEVICE */
  const char *mb = getenv("FAKE_CUDA_MAX_BLOCK");
  if (mb) max_block = (unsigned)atoi(mb);
  kernels = dlopen(getenv("FAKE_CUDA_KERNELS"), RTLD_NOW);
  return kernels ? 0 : 303; /* CUDA_ERROR_SHARED_OBJECT_INIT_FAILED */
}
int cuDeviceGetCount(int *n) { *n = device_count; return 0; }
int cuDeviceGet(int *d, int ordinal) { *d = ordinal; return 0; }
int cuDeviceGetName(char *name, int len, int dev) { snprintf(name, (size_t)len, "Fake GPU %d", dev); return 0; }
int cuDriverGetVersion(int *v) { *v = 13000; return 0; }
int cuDevicePrimaryCtxRetain(void **ctx, int dev) { (void)dev; *ctx = &ctx_token; return 0; }
int cuCtxSetCurrent(void *ctx) { return ctx == &ctx_token ? 0 : 201; }
int cuModuleLoadData(void **mod, const char *image) {
  if (!strstr(image, ".entry mpc_box_solve")) return 218; /* CUDA_ERROR_INVALID_PTX */
  *mod = &mod_token; return 0;
}
int cuModuleGetFunction(void **fn, void *mod, const char *name) {
  if (mod != &mod_token) return 400;
  *fn = dlsym(kernels, name);
  return *fn ? 0 : 500; /* CUDA_ERROR_NOT_FOUND */
}
int cuStreamCreate(void **s, unsigned flags) { (void)flags; *s = &stream_token; return 0; }
int cuStreamSynchronize(void *s) { return s == &stream_token ? 0 : 400; }
int cuMemAlloc_v2(uint64_t *p, size_t n) { void *m = malloc(n); if (!m) return 2; *p = (uint64_t)(uintptr_t)m; return 0; }
int cuMemFree_v2(uint64_t p) { free((void *)(uintptr_t)p); return 0; }
int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t n) { memcpy((void *)(uintptr_t)dst, src, n); return 0; }
int cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t n) { memcpy(dst, (const void *)(uintptr_t)src, n); return 0; }
int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shmem, void *stream, void **params, void **extra) {
  (void)gx; (void)gy; (void)gz; (void)by; (void)bz; (void)shmem; (void)extra;
  if (stream != &stream_token || !params || !params[0]) return 1;
  if (bx > max_block) return 701; /* CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES */
  last_block = bx; launches++;
  ((kernel_fn)f)(params[0]);
  return 0;
}
int cuGetErrorString(int e, const char **s) {
  *s = e == 100 ? "no CUDA-capable device is detected" : e == 701 ? "too many resources requested for launch" : "fake error";
  return 0;
}
/* for the test: what the last launch used */
unsigned fake_last_block(void) { return last_block; }
unsigned fake_launches(void) { return launches; }
