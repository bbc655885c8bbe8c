/**
 * DNS-rebinding guard: the Host (and, when sent, Origin) of every request must name this server.
 * A web page on attacker.example can make a victim's browser resolve attacker.example to 127.0.0.1
 * and read loopback routes that need no token; its requests then carry `Host: attacker.example:8080`
 * and are refused here (421) before anything else runs. Origin catches cross-origin requests from
 * other local pages (403).
 *
 * Entries: `name:port` (exact), `name` (any port), or `*` (no check: only behind a reverse proxy that
 * checks Host itself). Names compare case-insensitively; IPv6 literals are written in brackets.
 */
import { ApiError } from './errors.js';

export const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export interface HostRule { name: string; port: number | null }

/** `name[:port]` → rule; throws on a malformed entry (named in the message). */
export function parseHostEntry(entry: string): HostRule {
  const e = entry.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(e);
  if (!m) throw new Error(`allowed host '${entry}' is not name[:port] (IPv6 in brackets, e.g. [::1]:8080)`);
  return { name: m[1], port: m[2] === undefined ? null : Number(m[2]) };
}

export class HostGuard {
  private rules: HostRule[] = [];
  readonly any: boolean;

  /** `extra`: configured entries added to the loopback defaults; `port`: the listening port (null: any). */
  constructor(private readonly extra: string[] = [], port: number | null = null, private readonly bindHost?: string) {
    this.any = extra.some((e) => e.trim() === '*');
    this.setPort(port);
  }

  /** The defaults name the listening port, known only once the socket listens. */
  setPort(port: number | null): void {
    const bind = this.bindHost && !['0.0.0.0', '::', '[::]'].includes(this.bindHost) ? [this.bindHost.includes(':') && !this.bindHost.startsWith('[') ? `[${this.bindHost}]` : this.bindHost] : [];
    this.rules = [
      ...[...new Set([...LOOPBACK_NAMES, ...bind].map((n) => n.toLowerCase()))].map((name) => ({ name, port })),
      ...this.extra.filter((e) => e.trim() !== '*').map(parseHostEntry),
    ];
  }

  /** The allow-list as text (for messages and /health). */
  describe(): string[] { return this.any ? ['*'] : this.rules.map((r) => (r.port === null ? r.name : `${r.name}:${r.port}`)); }

  /** `defaultPort`: the port a header without one means (80 for Host and http origins, 443 for https). */
  allows(hostHeader: string | undefined, defaultPort = 80): boolean {
    if (this.any) return true;
    if (!hostHeader) return false;
    let rule: HostRule;
    try { rule = parseHostEntry(hostHeader); } catch { return false; }
    return this.rules.some((r) => r.name === rule.name && (r.port === null || r.port === (rule.port ?? defaultPort)));
  }

  /** Throws 421 for a foreign Host, 403 for a foreign (or `null`) Origin. */
  check(host: string | undefined, origin: string | undefined): void {
    if (this.any) return;
    if (!this.allows(host)) {
      throw new ApiError(421, 'misdirected_request', `this server does not answer for Host '${String(host ?? '').slice(0, 100)}' ` +
        `(allowed: ${this.describe().join(', ')}; add a name with --allowed-hosts or DMPC_ALLOWED_HOSTS)`);
    }
    if (origin === undefined) return;
    const m = /^(https?):\/\/([^/]+)$/i.exec(origin);
    if (!m || !this.allows(m[2], m[1].toLowerCase() === 'https' ? 443 : 80)) {
      throw new ApiError(403, 'forbidden_origin', `requests from origin '${origin.slice(0, 100)}' are refused (allowed hosts: ${this.describe().join(', ')})`);
    }
  }
}
