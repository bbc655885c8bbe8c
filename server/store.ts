/**
 * Persistent state of the server in one SQLite file (better-sqlite3 12; 13 crashes on Node 20):
 * parameter versions per controller, jobs with their results, and small metadata (the token hash).
 * WAL mode, synchronous writes; every version append is one transaction, so a crash leaves either
 * the old or the new version, never half of one.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JobDoc, Params } from './schemas.js';

export interface VersionRow {
  version: number;
  at: string;
  who: string;
  kind: 'initial' | 'patch' | 'rollback';
  what: unknown;
  note: string | null;
  params: Params;
}

export class Store {
  readonly db: Database.Database;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS param_versions (
        controller TEXT NOT NULL, version INTEGER NOT NULL, at TEXT NOT NULL, who TEXT NOT NULL,
        kind TEXT NOT NULL, what TEXT NOT NULL, note TEXT, params TEXT NOT NULL,
        PRIMARY KEY (controller, version));
      CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, progress REAL NOT NULL, message TEXT,
        params TEXT NOT NULL, result TEXT, error TEXT, created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, who TEXT NOT NULL);
    `);
  }

  getMeta(key: string): string | null {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r ? r.value : null;
  }
  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  private static row(r: Record<string, unknown>): VersionRow {
    return {
      version: r.version as number, at: r.at as string, who: r.who as string, kind: r.kind as VersionRow['kind'],
      what: JSON.parse(r.what as string), note: (r.note as string | null) ?? null, params: JSON.parse(r.params as string) as Params,
    };
  }

  latest(controller: string): VersionRow | null {
    const r = this.db.prepare('SELECT * FROM param_versions WHERE controller = ? ORDER BY version DESC LIMIT 1').get(controller) as Record<string, unknown> | undefined;
    return r ? Store.row(r) : null;
  }

  version(controller: string, version: number): VersionRow | null {
    const r = this.db.prepare('SELECT * FROM param_versions WHERE controller = ? AND version = ?').get(controller, version) as Record<string, unknown> | undefined;
    return r ? Store.row(r) : null;
  }

  history(controller: string, limit = 1000): VersionRow[] {
    const rows = this.db.prepare('SELECT * FROM param_versions WHERE controller = ? ORDER BY version DESC LIMIT ?').all(controller, limit) as Record<string, unknown>[];
    return rows.map(Store.row);
  }

  /**
   * Appends the next version in one transaction and runs `apply` inside it: if `apply` throws
   * (the controller refused the set), nothing is stored.
   */
  appendVersion(controller: string, entry: Omit<VersionRow, 'version' | 'at'>, apply: (version: number) => void): VersionRow {
    const tx = this.db.transaction(() => {
      const cur = this.db.prepare('SELECT MAX(version) AS v FROM param_versions WHERE controller = ?').get(controller) as { v: number | null };
      const version = (cur.v ?? 0) + 1;
      const at = new Date().toISOString();
      this.db.prepare('INSERT INTO param_versions (controller, version, at, who, kind, what, note, params) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(controller, version, at, entry.who, entry.kind, JSON.stringify(entry.what ?? null), entry.note, JSON.stringify(entry.params));
      apply(version);
      return { version, at, ...entry };
    });
    return tx();
  }

  // ---- jobs
  private static job(r: Record<string, unknown>): JobDoc {
    const j = (v: unknown) => (v === null || v === undefined ? null : JSON.parse(v as string));
    return {
      id: r.id as string, kind: r.kind as string, status: r.status as JobDoc['status'], progress: r.progress as number,
      message: (r.message as string | null) ?? null, params: j(r.params), result: j(r.result), error: (r.error as string | null) ?? null,
      createdAt: r.created_at as string, startedAt: (r.started_at as string | null) ?? null, finishedAt: (r.finished_at as string | null) ?? null,
      who: r.who as string,
    };
  }

  putJob(j: JobDoc): void {
    this.db.prepare(`INSERT INTO jobs (id, kind, status, progress, message, params, result, error, created_at, started_at, finished_at, who)
      VALUES (@id, @kind, @status, @progress, @message, @params, @result, @error, @createdAt, @startedAt, @finishedAt, @who)
      ON CONFLICT(id) DO UPDATE SET status = excluded.status, progress = excluded.progress, message = excluded.message,
        result = excluded.result, error = excluded.error, started_at = excluded.started_at, finished_at = excluded.finished_at`)
      .run({ ...j, params: JSON.stringify(j.params ?? null), result: j.result === null ? null : JSON.stringify(j.result) });
  }

  getJob(id: string): JobDoc | null {
    const r = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r ? Store.job(r) : null;
  }

  listJobs(limit = 100): JobDoc[] {
    return (this.db.prepare('SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?').all(limit) as Record<string, unknown>[]).map(Store.job);
  }

  /** Jobs a previous process left queued or running can never finish: mark them interrupted. */
  interruptStale(kinds?: string[]): number {
    const sql = "UPDATE jobs SET status = 'interrupted', finished_at = ?, message = 'the server stopped before the job finished' WHERE status IN ('queued', 'running')";
    if (!kinds) return this.db.prepare(sql).run(new Date().toISOString()).changes;
    if (!kinds.length) return 0;
    return this.db.prepare(`${sql} AND kind IN (${kinds.map(() => '?').join(', ')})`).run(new Date().toISOString(), ...kinds).changes;
  }

  close(): void { this.db.close(); }
}
