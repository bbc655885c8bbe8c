/**
 * MCAP chunk compression. rosbag2's MCAP storage plugin compresses chunks with zstd (its
 * `zstd_fast` / `zstd_small` presets) or lz4 (LZ4 frame format) when configured to, so real bags
 * often need these to be read. (rosbag2's separate `--compression-mode file|message` is not MCAP
 * chunk compression and is not handled here.)
 *
 * - Reading: `decompressHandlers()` for @mcap/core's readers. zstd and lz4 are decoded by the
 *   reference C libraries compiled to WebAssembly (@foxglove/wasm-zstd, @foxglove/wasm-lz4, the
 *   decoders Foxglove's own MCAP tools use), so a bag written by any conforming tool decodes.
 * - Writing: `chunkCompressor(kind)` for McapWriter's `compressChunk`. zstd by the same wasm libzstd;
 *   lz4 by lz4js (pure JavaScript: the wasm-lz4 package only decodes), whose frames liblz4 decodes.
 *
 * The wasm modules load asynchronously: every entry point awaits `compressionReady()` first.
 */
import * as zstd from '@foxglove/wasm-zstd';
import lz4Decompress from '@foxglove/wasm-lz4';
import lz4js from 'lz4js';

export const CHUNK_COMPRESSIONS = ['none', 'zstd', 'lz4'] as const;
export type ChunkCompression = (typeof CHUNK_COMPRESSIONS)[number];

let ready: Promise<void> | undefined;
/** Resolves once both wasm decoders are instantiated (idempotent). */
export function compressionReady(): Promise<void> {
  ready ??= Promise.all([zstd.isLoaded, lz4Decompress.isLoaded]).then(() => undefined);
  return ready;
}

/** Handlers keyed by the MCAP chunk `compression` field; call after `compressionReady()`. */
export function decompressHandlers(): Record<string, (buffer: Uint8Array, decompressedSize: bigint) => Uint8Array> {
  return {
    zstd: (buffer, size) => zstd.decompress(buffer, Number(size)),
    lz4: (buffer, size) => lz4Decompress(buffer, Number(size)),
  };
}

/** McapWriter's `compressChunk` for `kind` (undefined for 'none': chunks stay uncompressed). */
export function chunkCompressor(kind: ChunkCompression): ((data: Uint8Array) => { compression: string; compressedData: Uint8Array }) | undefined {
  if (kind === 'none') return undefined;
  // zstd level 3 is libzstd's (and rosbag2's) default: fast, and far better than lz4 on float data
  if (kind === 'zstd') return (data) => ({ compression: 'zstd', compressedData: zstd.compress(data, 3) });
  if (kind === 'lz4') return (data) => ({ compression: 'lz4', compressedData: lz4js.compress(data) });
  throw new Error(`mcap: unknown chunk compression '${String(kind)}' (${CHUNK_COMPRESSIONS.join(', ')})`);
}
