import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { ThinkingError } from "./errors.ts";

/** The reference sequential-thinking server's inputs. */
export interface ThoughtInput {
  thought: string;
  nextThoughtNeeded: boolean;
  thoughtNumber: number;
  totalThoughts: number;
  isRevision?: boolean;
  revisesThought?: number;
  branchFromThought?: number;
  branchId?: string;
  needsMoreThoughts?: boolean;
}

export interface BranchInput {
  branchId: string;
  thought: string;
  confidence?: number;
  pros?: string[];
  cons?: string[];
}

export interface ExplorationInput {
  question: string;
  branches: BranchInput[];
  conclusion?: string;
}

export interface ReflectionInput {
  thoughtNumber: number;
  critique: string;
  confidence?: number;
  issues?: string[];
  suggestedRevision?: string;
}

/** Where a record sits in the store-wide arrival order, and when it arrived. */
export interface Recorded {
  position: number;
  recordedAt: string;
}

export type ThoughtRecord = ThoughtInput & Recorded;
export type ExplorationRecord = ExplorationInput & Recorded & { explorationNumber: number };
export type ReflectionRecord = ReflectionInput & Recorded & { reflectionNumber: number };

export interface SessionTimes {
  sessionId: string;
  createdAt: string;
  updatedAt: string;
  /** When the session is evicted unless something is added to it first. */
  expiresAt: string;
}

export interface SessionSnapshot extends SessionTimes {
  thoughts: ThoughtRecord[];
  /** Branch id → thought numbers recorded on that branch, in order. */
  branches: Record<string, number[]>;
  explorations: ExplorationRecord[];
  reflections: ReflectionRecord[];
}

export interface SessionSummary extends SessionTimes {
  thoughtCount: number;
  explorationCount: number;
  reflectionCount: number;
}

export interface ThoughtAdded {
  record: ThoughtRecord;
  historyLength: number;
  branches: string[];
}

export interface ThinkingStoreOptions {
  /** SQLite file, or `:memory:`. */
  file: string;
  /** Sessions with nothing added for longer than this are evicted. */
  ttlMs: number;
  /** Records (thoughts, explorations, reflections) one session may hold. */
  maxEntriesPerSession: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

type EntryKind = "thought" | "exploration" | "reflection";

interface EntryRow {
  kind: EntryKind;
  data: string;
  created_at: number;
  position: number;
}

interface SessionRow {
  id: string;
  created_at: number;
  updated_at: number;
}

interface SummaryRow extends SessionRow {
  thoughts: number;
  explorations: number;
  reflections: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_updated_at ON sessions (updated_at);
CREATE TABLE IF NOT EXISTS entries (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('thought', 'exploration', 'reflection')),
  thought_number INTEGER,
  branch_id TEXT,
  data TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_session ON entries (session_id, kind, thought_number);
`;

/**
 * Thinking sessions in SQLite. Every call is one synchronous transaction, so concurrent
 * callers (and several server processes sharing one file, in WAL mode) never interleave
 * inside a session's update.
 */
export class ThinkingStore {
  private readonly db: Database.Database;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(options: ThinkingStoreOptions) {
    if (options.file !== ":memory:") mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
    // Several instances (one per agent) may share one file: wait for each other's locks.
    this.db = new Database(options.file, { timeout: 5000 });
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    this.db.exec(SCHEMA);
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntriesPerSession;
    this.now = options.now ?? Date.now;
  }

  addThought(sessionId: string, input: ThoughtInput): ThoughtAdded {
    return this.db
      .transaction((): ThoughtAdded => {
        const now = this.prepareWrite(sessionId);
        const thought = { ...input, totalThoughts: Math.max(input.totalThoughts, input.thoughtNumber) };
        const onBranch = thought.branchFromThought !== undefined && thought.branchId !== undefined;
        const position = this.insert(sessionId, "thought", thought, now, thought.thoughtNumber, onBranch ? thought.branchId : null);
        return {
          record: { ...thought, position, recordedAt: iso(now) },
          historyLength: this.count(sessionId, "thought"),
          branches: this.branchIds(sessionId),
        };
      })
      .immediate();
  }

  addExploration(sessionId: string, input: ExplorationInput): ExplorationRecord {
    return this.db
      .transaction((): ExplorationRecord => {
        const now = this.prepareWrite(sessionId);
        const position = this.insert(sessionId, "exploration", input, now, null, null);
        return { ...input, explorationNumber: this.count(sessionId, "exploration"), position, recordedAt: iso(now) };
      })
      .immediate();
  }

  /** Records a critique of the session's latest thought with `input.thoughtNumber`, returned alongside. */
  addReflection(sessionId: string, input: ReflectionInput): { reflection: ReflectionRecord; target: ThoughtRecord } {
    return this.db
      .transaction(() => {
        this.evictIdle();
        const target = this.latestThought(sessionId, input.thoughtNumber);
        const now = this.prepareWrite(sessionId);
        const position = this.insert(sessionId, "reflection", input, now, input.thoughtNumber, null);
        const reflection = { ...input, reflectionNumber: this.count(sessionId, "reflection"), position, recordedAt: iso(now) };
        return { reflection, target };
      })
      .immediate();
  }

  getSession(sessionId: string): SessionSnapshot | undefined {
    this.evictIdle();
    const row = this.sql<[string], SessionRow>("SELECT id, created_at, updated_at FROM sessions WHERE id = ?").get(sessionId);
    if (!row) return undefined;
    const entries = this.sql<[string], EntryRow>("SELECT kind, data, created_at, position FROM entries WHERE session_id = ? ORDER BY position")
      .all(sessionId);
    const snapshot: SessionSnapshot = { ...this.times(row), thoughts: [], branches: {}, explorations: [], reflections: [] };
    for (const entry of entries) addEntry(snapshot, entry);
    return snapshot;
  }

  /** Sessions, most recently updated first. */
  listSessions(limit: number): SessionSummary[] {
    this.evictIdle();
    const rows = this.sql<[number], SummaryRow>(
        `SELECT s.id, s.created_at, s.updated_at,
           count(e.position) FILTER (WHERE e.kind = 'thought') AS thoughts,
           count(e.position) FILTER (WHERE e.kind = 'exploration') AS explorations,
           count(e.position) FILTER (WHERE e.kind = 'reflection') AS reflections
         FROM sessions s LEFT JOIN entries e ON e.session_id = s.id
         GROUP BY s.id ORDER BY s.updated_at DESC, s.id LIMIT ?`,
      )
      .all(limit);
    return rows.map((row) => ({
      ...this.times(row),
      thoughtCount: row.thoughts,
      explorationCount: row.explorations,
      reflectionCount: row.reflections,
    }));
  }

  /** Deletes a session; returns how many records it held, or undefined when there was no such session. */
  resetSession(sessionId: string): number | undefined {
    return this.db
      .transaction((): number | undefined => {
        this.evictIdle();
        const entries = this.sql<[string], number>("SELECT count(*) FROM entries WHERE session_id = ?").pluck().get(sessionId) ?? 0;
        const deleted = this.sql("DELETE FROM sessions WHERE id = ?").run(sessionId).changes;
        return deleted === 0 ? undefined : entries;
      })
      .immediate();
  }

  /** Deletes sessions idle for longer than the TTL; returns how many. */
  evictIdle(): number {
    return this.sql("DELETE FROM sessions WHERE updated_at < ?").run(this.now() - this.ttlMs).changes;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** A prepared statement, compiled once per store. */
  private sql<P extends unknown[] = unknown[], R = unknown>(source: string): Database.Statement<P, R> {
    let statement = this.statements.get(source);
    if (!statement) {
      statement = this.db.prepare(source);
      this.statements.set(source, statement);
    }
    return statement as unknown as Database.Statement<P, R>;
  }

  private prepareWrite(sessionId: string): number {
    this.evictIdle();
    const entries = this.sql<[string], number>("SELECT count(*) FROM entries WHERE session_id = ?").pluck().get(sessionId) ?? 0;
    if (entries >= this.maxEntries) {
      throw new ThinkingError(
        "THOUGHT_LIMIT",
        `session "${sessionId}" already holds ${entries} records, the limit per session; reset it with thinking_session_reset or use another sessionId`,
      );
    }
    const now = this.now();
    this.sql("INSERT INTO sessions (id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at")
      .run(sessionId, now, now);
    return now;
  }

  private insert(sessionId: string, kind: EntryKind, data: object, now: number, thoughtNumber: number | null, branchId: string | null | undefined): number {
    const result = this.sql("INSERT INTO entries (session_id, kind, thought_number, branch_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(sessionId, kind, thoughtNumber, branchId ?? null, JSON.stringify(data), now);
    return Number(result.lastInsertRowid);
  }

  private count(sessionId: string, kind: EntryKind): number {
    return this.sql<[string, string], number>("SELECT count(*) FROM entries WHERE session_id = ? AND kind = ?").pluck().get(sessionId, kind) ?? 0;
  }

  private branchIds(sessionId: string): string[] {
    return this.sql<[string], string>(
        "SELECT branch_id FROM entries WHERE session_id = ? AND kind = 'thought' AND branch_id IS NOT NULL GROUP BY branch_id ORDER BY min(position)",
      )
      .pluck()
      .all(sessionId);
  }

  private latestThought(sessionId: string, thoughtNumber: number): ThoughtRecord {
    const row = this.sql<[string, number], EntryRow>(
        "SELECT kind, data, created_at, position FROM entries WHERE session_id = ? AND kind = 'thought' AND thought_number = ? ORDER BY position DESC LIMIT 1",
      )
      .get(sessionId, thoughtNumber);
    if (!row) {
      throw new ThinkingError("THOUGHT_NOT_FOUND", `thoughtNumber: session "${sessionId}" has no thought ${thoughtNumber} to reflect on`);
    }
    return { ...(JSON.parse(row.data) as ThoughtInput), position: row.position, recordedAt: iso(row.created_at) };
  }

  private times(row: SessionRow): SessionTimes {
    return {
      sessionId: row.id,
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
      expiresAt: iso(row.updated_at + this.ttlMs),
    };
  }
}

function addEntry(snapshot: SessionSnapshot, entry: EntryRow): void {
  const recorded = { position: entry.position, recordedAt: iso(entry.created_at) };
  if (entry.kind === "thought") {
    const thought = { ...(JSON.parse(entry.data) as ThoughtInput), ...recorded };
    snapshot.thoughts.push(thought);
    if (thought.branchFromThought !== undefined && thought.branchId !== undefined) {
      (snapshot.branches[thought.branchId] ??= []).push(thought.thoughtNumber);
    }
  } else if (entry.kind === "exploration") {
    const exploration = JSON.parse(entry.data) as ExplorationInput;
    snapshot.explorations.push({ ...exploration, ...recorded, explorationNumber: snapshot.explorations.length + 1 });
  } else {
    const reflection = JSON.parse(entry.data) as ReflectionInput;
    snapshot.reflections.push({ ...reflection, ...recorded, reflectionNumber: snapshot.reflections.length + 1 });
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
