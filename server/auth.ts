/**
 * Bearer-token authentication.
 *
 * - Mutating routes (parameter changes, rollbacks, jobs) always need the token.
 * - When the server binds anything but a loopback address, every route except the dashboard's static
 *   files and /health needs it too (the SSE stream, which browsers cannot give headers, also takes it
 *   as `?token=`).
 * The token is DMPC_TOKEN when set; otherwise one is generated on the first start, printed once, and
 * only its SHA-256 is kept (in the server's SQLite file), so later starts accept it without ever
 * showing it again (`dmpc serve --rotate-token` makes a new one).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Store } from './store.js';

export const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

export class TokenCheck {
  private readonly hash: Buffer;
  constructor(hashOrToken: { token: string } | { hash: Buffer }) {
    this.hash = 'token' in hashOrToken ? sha256(hashOrToken.token) : hashOrToken.hash;
  }
  /** Constant-time comparison of a presented token with the expected one. */
  verify(presented: string | undefined | null): boolean {
    if (!presented) return false;
    return timingSafeEqual(sha256(presented), this.hash);
  }
}

/** The bearer token in an Authorization header, if any. */
export function bearer(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : null;
}

export interface ResolvedToken { check: TokenCheck; source: 'env' | 'generated' | 'stored'; /** Only when generated now. */ printOnce?: string }

/** DMPC_TOKEN (env), else the stored hash, else a new random token (stored as a hash, returned once to print). */
export function resolveToken(store: Store, envToken: string | undefined, rotate = false): ResolvedToken {
  if (envToken) return { check: new TokenCheck({ token: envToken }), source: 'env' };
  const stored = store.getMeta('token_sha256');
  if (stored && !rotate) return { check: new TokenCheck({ hash: Buffer.from(stored, 'hex') }), source: 'stored' };
  const token = randomBytes(24).toString('base64url');
  store.setMeta('token_sha256', sha256(token).toString('hex'));
  return { check: new TokenCheck({ token }), source: 'generated', printOnce: token };
}
