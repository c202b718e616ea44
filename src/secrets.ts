import { createTableOnce } from "./pg-advisory.ts";
import { postgresUrl } from "./pg-url.ts";
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type pg from "pg";
import { isRecord } from "./plan/interpolate.ts";

/**
 * Secret values from tool outputs never enter graph state, checkpoints, the ledger, logs, traces or
 * reports: they are replaced by opaque handles (`secret://<id>`) and kept here, encrypted with
 * AES-256-GCM. The step runner reveals a handle only when it builds a tool call's arguments.
 */
const HANDLE = /secret:\/\/([0-9a-f]{32})/g;
const SECRET_NAME = /(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|connection[_-]?(string|uri)|database_url|redis_url)$/i;
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i;

interface SecretRow {
  iv: Buffer;
  tag: Buffer;
  data: Buffer;
}

/** Where encrypted secrets are kept: a SQLite file, or a table beside a Postgres checkpointer. */
interface SecretBackend {
  get(id: string): SecretRow | undefined;
  put(id: string, row: SecretRow): void | Promise<void>;
  /** Reads what other processes stored since this one opened (a worker, before each run). */
  refresh?(): Promise<void>;
  close(): void | Promise<void>;
}

class SqliteSecrets implements SecretBackend {
  private readonly db: Database.Database;

  constructor(file: string) {
    if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.exec("CREATE TABLE IF NOT EXISTS secrets (id TEXT PRIMARY KEY, iv BLOB NOT NULL, tag BLOB NOT NULL, data BLOB NOT NULL)");
  }

  get(id: string): SecretRow | undefined {
    return this.db.prepare("SELECT iv, tag, data FROM secrets WHERE id = ?").get(id) as SecretRow | undefined;
  }

  put(id: string, row: SecretRow): void {
    this.db.prepare("INSERT OR IGNORE INTO secrets (id, iv, tag, data) VALUES (?, ?, ?, ?)").run(id, row.iv, row.tag, row.data);
  }

  close(): void {
    this.db.close();
  }
}

/** Rows are read once at open (reveal stays synchronous); writes are awaited before a handle is used. */
class PostgresSecrets implements SecretBackend {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly rows: Map<string, SecretRow>,
  ) {}

  static async open(url: string): Promise<PostgresSecrets> {
    // The driver loads only for a Postgres store (a SQLite one never needs it).
    const { default: pgDriver } = await import("pg");
    const pool = new pgDriver.Pool({ connectionString: url, max: 2 });
    pool.on("error", () => {});
    pool.on("connect", (client) => client.on("error", () => {}));
    await createTableOnce(pool, "credit_optimizer_secrets", "id TEXT PRIMARY KEY, iv BYTEA NOT NULL, tag BYTEA NOT NULL, data BYTEA NOT NULL");
    const { rows } = await pool.query<SecretRow & { id: string }>("SELECT id, iv, tag, data FROM credit_optimizer_secrets");
    return new PostgresSecrets(pool, new Map(rows.map((r) => [r.id, { iv: r.iv, tag: r.tag, data: r.data }])));
  }

  get(id: string): SecretRow | undefined {
    return this.rows.get(id);
  }

  async refresh(): Promise<void> {
    const { rows } = await this.pool.query<SecretRow & { id: string }>("SELECT id, iv, tag, data FROM credit_optimizer_secrets WHERE NOT (id = ANY($1::text[]))", [[...this.rows.keys()]]);
    for (const r of rows) this.rows.set(r.id, { iv: r.iv, tag: r.tag, data: r.data });
  }

  async put(id: string, row: SecretRow): Promise<void> {
    this.rows.set(id, row);
    await this.pool.query("INSERT INTO credit_optimizer_secrets (id, iv, tag, data) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING", [id, row.iv, row.tag, row.data]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export class SecretStore {
  private readonly backend: SecretBackend;
  private readonly cache = new Map<string, string>();

  /** `file` is a SQLite path (or `:memory:`). */
  constructor(file: string | SecretBackend, private readonly key: Buffer) {
    if (key.length !== 32) throw new Error("the secret key must be 32 bytes");
    this.backend = typeof file === "string" ? new SqliteSecrets(file) : file;
  }

  /**
   * Opens the store with the key from `keyHex`, or `<home>/secret.key` (created 0600): in
   * `<home>/secrets.sqlite`, or beside the checkpointer when that is Postgres.
   */
  static async open(home: string, options: { keyHex?: string; checkpointerUrl?: string } = {}): Promise<SecretStore> {
    const key = options.keyHex ? Buffer.from(options.keyHex, "hex") : loadKeyFile(home);
    const url = postgresUrl(options.checkpointerUrl);
    const backend = url ? await PostgresSecrets.open(url) : new SqliteSecrets(path.join(home, "secrets.sqlite"));
    return new SecretStore(backend, key);
  }

  /** Replaces secret fields (declared, or caught by name and by URLs with passwords) with handles; resolves once they are stored. */
  async protect<T>(value: T, declared: readonly string[] = []): Promise<T> {
    const writes: Promise<void>[] = [];
    const protectedValue = this.walk(value, undefined, new Set(declared), writes) as T;
    await Promise.all(writes);
    return protectedValue;
  }

  /** Replaces every handle inside `value` by the secret it stands for. */
  reveal<T>(value: T): T {
    if (typeof value === "string") return value.replace(HANDLE, (_, id: string) => this.get(id)) as T;
    if (Array.isArray(value)) return value.map((v) => this.reveal(v)) as T;
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.reveal(v)])) as T;
    return value;
  }

  /** Reads the secrets other processes stored since this store opened (handles in a queued run's input). */
  async refresh(): Promise<void> {
    await this.backend.refresh?.();
  }

  async close(): Promise<void> {
    await this.backend.close();
  }

  /** The handle of one secret; the same value always gets the same handle. */
  private put(value: string, writes: Promise<void>[]): string {
    const id = createHmac("sha256", this.key).update(value).digest("hex").slice(0, 32);
    if (!this.cache.has(id)) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", this.key, iv);
      const data = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
      writes.push(Promise.resolve(this.backend.put(id, { iv, tag: cipher.getAuthTag(), data })));
      this.cache.set(id, value);
    }
    return `secret://${id}`;
  }

  private walk(value: unknown, key: string | undefined, declared: Set<string>, writes: Promise<void>[]): unknown {
    if (typeof value === "string") {
      if (value.startsWith("secret://")) return value;
      const secret = (key !== undefined && (declared.has(key) || SECRET_NAME.test(key))) || URL_WITH_PASSWORD.test(value);
      return secret && value !== "" ? this.put(value, writes) : value;
    }
    if (Array.isArray(value)) return value.map((v) => this.walk(v, key, declared, writes));
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.walk(v, k, declared, writes)]));
    return value;
  }

  private get(id: string): string {
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    const row = this.backend.get(id);
    if (!row) throw new Error(`unknown secret handle secret://${id}: it is not in this secret store (a run from another machine needs the same store: the Postgres checkpointer)`);
    let value: string;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, row.iv);
      decipher.setAuthTag(row.tag);
      value = Buffer.concat([decipher.update(row.data), decipher.final()]).toString("utf8");
    } catch {
      throw new Error(`secret handle secret://${id} cannot be decrypted with this secret key (set the CREDIT_OPTIMIZER_SECRET_KEY it was stored with)`);
    }
    this.cache.set(id, value);
    return value;
  }
}

function loadKeyFile(home: string): Buffer {
  const file = path.join(home, "secret.key");
  if (!existsSync(file)) {
    mkdirSync(home, { recursive: true });
    try {
      writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  chmodSync(file, 0o600);
  return Buffer.from(readFileSync(file, "utf8").trim(), "hex");
}

const REDACTED = "[redacted]";
const CREDENTIAL_URL = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]*):([^\s/@]+)@/gi;
const AUTH_HEADER = /\b(Bearer|Basic|FlyV1)\s+[A-Za-z0-9._~+/=,-]+/g;
const SECRET_FIELD = /("(?:password|token|api_key|apiKey|secret|rest_token|read_only_rest_token)"\s*:\s*)"[^"]*"/gi;
const API_KEY = /\b(sk|pk|rk|ghp|gho|ghs|github_pat|xox[abp]|lsv2)[-_][A-Za-z0-9_-]{8,}/g;

/**
 * The one scrubber for text headed for logs, errors, traces, the ledger and reports: known secret
 * values, URL passwords, auth headers, secret JSON fields and API-key-looking tokens become `[redacted]`.
 */
export function maskSecrets(text: string, known: readonly string[] = []): string {
  let out = text;
  for (const secret of known) if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  return out
    .replace(CREDENTIAL_URL, `$1$2:${REDACTED}@`)
    .replace(AUTH_HEADER, `$1 ${REDACTED}`)
    .replace(SECRET_FIELD, `$1"${REDACTED}"`)
    .replace(API_KEY, `$1-${REDACTED}`);
}
