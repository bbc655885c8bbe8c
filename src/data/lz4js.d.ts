// lz4js ships no types. Only the frame-format functions src/data/compression.ts uses are declared.
declare module 'lz4js' {
  /** LZ4 frame (magic 0x184D2204) of `src`; `maxSize` bounds the output (default compressBound). */
  export function compress(src: Uint8Array, maxSize?: number): Uint8Array;
  export function decompress(src: Uint8Array, maxSize?: number): Uint8Array;
  const lz4js: { compress: typeof compress; decompress: typeof decompress };
  export default lz4js;
}
