/**
 * One interface for where the MPC kernels run: 'c' (the same source compiled by gcc, called through
 * koffi, on the CPU) and 'cuda' (NVRTC PTX through the CUDA driver API). Memory is addressed by
 * 64-bit "device" addresses in both, so the host code above (solve.ts) is the same for both.
 */
import type { StagePattern } from '../mpc/kernels.js';

export type KernelName = 'mpc_box_solve' | 'mpc_box_backward';

export interface KernelBackend {
  readonly name: 'c' | 'cuda';
  /** A human description (device name, compiler) for reports. */
  readonly description: string;
  alloc(bytes: number): bigint;
  free(addr: bigint): void;
  upload(dst: bigint, src: ArrayBufferView): void;
  download(dst: ArrayBufferView, src: bigint): void;
  /** Runs `kernel` over elements [0, B) with the packed argument block (args.ts); returns when done. */
  launch(kernel: KernelName, args: Buffer, B: number): void;
  /** Optional: run the next launches with stage kernels specialised to (nx, nu) and the structural zeros `pat` (generated.ts). */
  specialise?(nx: number, nu: number, pat: StagePattern): void;
  close(): void;
}

/** A reusable set of device buffers, grown on demand and kept across calls (no per-solve malloc). */
export class DeviceBuffers {
  private readonly bufs = new Map<string, { addr: bigint; bytes: number }>();
  constructor(private readonly be: KernelBackend) {}

  /** A buffer of at least `bytes` (content undefined). */
  get(name: string, bytes: number): bigint {
    const need = Math.max(8, bytes);
    const b = this.bufs.get(name);
    if (b && b.bytes >= need) return b.addr;
    if (b) this.be.free(b.addr);
    const addr = this.be.alloc(need);
    this.bufs.set(name, { addr, bytes: need });
    return addr;
  }

  /** A buffer holding `data` (uploaded). */
  put(name: string, data: ArrayBufferView): bigint {
    const addr = this.get(name, data.byteLength);
    if (data.byteLength > 0) this.be.upload(addr, data);
    return addr;
  }

  /**
   * Several small arrays in one buffer with one upload (a host→device copy costs ~1.3 µs of call (scratch timing)
   * overhead through koffi whatever its size, more on a GPU): each part at an 8-byte aligned offset of
   * a staging block kept between calls. Returns the parts' device addresses.
   */
  putPacked(name: string, parts: readonly ArrayBufferView[]): bigint[] {
    const offs: number[] = [];
    let bytes = 0;
    for (const p of parts) { offs.push(bytes); bytes += (p.byteLength + 7) & ~7; }
    if (!this.staging || this.staging.byteLength < bytes) this.staging = new Uint8Array(Math.max(bytes, 2 * (this.staging?.byteLength ?? 0)));
    const st = this.staging;
    parts.forEach((p, i) => st.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offs[i]));
    const base = this.get(name, bytes);
    if (bytes > 0) this.be.upload(base, st.subarray(0, bytes));
    return offs.map((o) => base + BigInt(o));
  }
  private staging: Uint8Array | null = null;

  freeAll(): void {
    for (const b of this.bufs.values()) this.be.free(b.addr);
    this.bufs.clear();
  }
}
