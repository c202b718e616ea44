import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { isRecord } from "./plan/interpolate.ts";

/**
 * Secret values from tool outputs never enter graph state, checkpoints, the ledger, logs, traces or
 * reports: they are replaced by opaque handles (`secret://<id>`) and kept here, encrypted with
 * AES-256-GCM. The step runner reveals a handle only when it builds a tool call's arguments.
 */
const HANDLE = /secret:\/\/([0-9a-f]{32})/g;
const SECRET_NAME = /(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|connection[_-]?(string|uri)|database_url|redis_url)$/i;
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i;

export class SecretStore {
  private readonly db: Database.Database;
  private readonly cache = new Map<string, string>();

  constructor(file: string, private readonly key: Buffer) {
    if (key.length !== 32) throw new Error("the secret key must be 32 bytes");
    if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.exec("CREATE TABLE IF NOT EXISTS secrets (id TEXT PRIMARY KEY, iv BLOB NOT NULL, tag BLOB NOT NULL, data BLOB NOT NULL)");
  }

  /** Opens `<home>/secrets.sqlite` with the key from `keyHex`, or `<home>/secret.key` (created 0600). */
  static open(home: string, keyHex?: string): SecretStore {
    return new SecretStore(path.join(home, "secrets.sqlite"), keyHex ? Buffer.from(keyHex, "hex") : loadKeyFile(home));
  }

  /** Stores one secret and returns its handle; the same value always gets the same handle. */
  put(value: string): string {
    const id = createHmac("sha256", this.key).update(value).digest("hex").slice(0, 32);
    if (!this.cache.has(id)) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", this.key, iv);
      const data = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
      this.db.prepare("INSERT OR IGNORE INTO secrets (id, iv, tag, data) VALUES (?, ?, ?, ?)").run(id, iv, cipher.getAuthTag(), data);
      this.cache.set(id, value);
    }
    return `secret://${id}`;
  }

  /** Replaces secret fields (declared, or caught by name and by URLs with passwords) with handles. */
  protect<T>(value: T, declared: readonly string[] = []): T {
    return this.walk(value, undefined, new Set(declared)) as T;
  }

  /** Replaces every handle inside `value` by the secret it stands for. */
  reveal<T>(value: T): T {
    if (typeof value === "string") return value.replace(HANDLE, (_, id: string) => this.get(id)) as T;
    if (Array.isArray(value)) return value.map((v) => this.reveal(v)) as T;
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.reveal(v)])) as T;
    return value;
  }

  close(): void {
    this.db.close();
  }

  private walk(value: unknown, key: string | undefined, declared: Set<string>): unknown {
    if (typeof value === "string") {
      if (value.startsWith("secret://")) return value;
      const secret = (key !== undefined && (declared.has(key) || SECRET_NAME.test(key))) || URL_WITH_PASSWORD.test(value);
      return secret && value !== "" ? this.put(value) : value;
    }
    if (Array.isArray(value)) return value.map((v) => this.walk(v, key, declared));
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.walk(v, k, declared)]));
    return value;
  }

  private get(id: string): string {
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    const row = this.db.prepare("SELECT iv, tag, data FROM secrets WHERE id = ?").get(id) as { iv: Buffer; tag: Buffer; data: Buffer } | undefined;
    if (!row) throw new Error(`unknown secret handle secret://${id}`);
    const decipher = createDecipheriv("aes-256-gcm", this.key, row.iv);
    decipher.setAuthTag(row.tag);
    const value = Buffer.concat([decipher.update(row.data), decipher.final()]).toString("utf8");
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

/** Masks secrets in text headed for logs and errors: URL passwords and known secret values. */
export function maskSecrets(text: string, known: readonly string[] = []): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^/\s@]+@/gi, "$1***@");
  for (const secret of known) if (secret.length >= 4) out = out.split(secret).join("***");
  return out;
}
