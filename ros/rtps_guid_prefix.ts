/**
 * GUID prefixes of received datagrams as the library's hex strings, without building the string anew
 * each time. @foxglove/rtps reads the sender's prefix from the RTPS header (MessageView.guidPrefix,
 * read once per datagram and again per submessage) and the destination's from every INFO_DST as
 * three 8-digit hex strings joined, i.e. several strings per datagram for a handful of peers; this
 * keeps the string of each prefix seen recently (ros/rtps.ts installs it on both getters).
 */

/** Prefixes remembered; beyond this many distinct ones the oldest is replaced. */
export const GUID_PREFIX_CACHE_SIZE = 64;

const words = new Uint32Array(3 * GUID_PREFIX_CACHE_SIZE);
const strings: string[] = [];
let used = 0, replace = 0;

const hex8 = (v: number) => (v >>> 0).toString(16).padStart(8, '0');

/** The 12-byte GUID prefix at `offset` of `view` as 24 lowercase hex digits (the library's guidPrefixFromData). */
export function guidPrefixAt(view: DataView, offset: number): string {
  const a = view.getUint32(offset, false), b = view.getUint32(offset + 4, false), c = view.getUint32(offset + 8, false);
  for (let i = 0; i < used; i++) {
    if (words[3 * i] === a && words[3 * i + 1] === b && words[3 * i + 2] === c) return strings[i];
  }
  const s = hex8(a) + hex8(b) + hex8(c);
  let i: number;
  if (used < GUID_PREFIX_CACHE_SIZE) i = used++;
  else { i = replace; replace = (replace + 1) % GUID_PREFIX_CACHE_SIZE; }
  words[3 * i] = a; words[3 * i + 1] = b; words[3 * i + 2] = c;
  strings[i] = s;
  return s;
}
