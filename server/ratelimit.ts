/**
 * Token-bucket rate limiting per client address and route group (solve, simulate): `burst` requests
 * at once, refilled at `perSecond`. Over the limit: 429 with Retry-After. Buckets idle for a minute
 * are dropped so the map stays small.
 */
import { ApiError } from './errors.js';

export interface RateLimit { perSecond: number; burst: number }

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  rejected = 0;
  private lastSweep = 0;
  constructor(private readonly limits: Record<string, RateLimit>, private readonly now: () => number = () => performance.now() / 1000) {}

  /** Takes one token for (group, client) or throws a 429 ApiError. */
  take(group: string, client: string): void {
    const lim = this.limits[group];
    if (!lim) return;
    const t = this.now();
    if (t - this.lastSweep > 60) {
      for (const [k, b] of this.buckets) if (t - b.at > 60) this.buckets.delete(k);
      this.lastSweep = t;
    }
    const key = `${group}\u0000${client}`;
    const b = this.buckets.get(key) ?? { tokens: lim.burst, at: t };
    b.tokens = Math.min(lim.burst, b.tokens + (t - b.at) * lim.perSecond);
    b.at = t;
    if (b.tokens < 1) {
      this.buckets.set(key, b);
      this.rejected++;
      const wait = Math.ceil((1 - b.tokens) / lim.perSecond);
      throw new ApiError(429, 'rate_limited', `too many ${group} requests: at most ${lim.burst} at once and ${lim.perSecond}/s`, undefined, { 'retry-after': String(Math.max(1, wait)) });
    }
    b.tokens -= 1;
    this.buckets.set(key, b);
  }
}
