import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

const KEY_FILE = "local-secret.key";

/** The 32-byte key under `dataDir`, created once (atomically, mode 0600) on first use. */
async function localKey(dataDir: string): Promise<Buffer> {
  const file = path.join(dataDir, KEY_FILE);
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await writeFile(temp, randomBytes(32), { mode: 0o600 });
  try {
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(temp);
  }
  return readFile(file);
}

/**
 * The password of a local role or user: HMAC of its name under the data dir's key, so it is
 * stable across restarts without being stored anywhere.
 */
export async function localPassword(dataDir: string, principal: string): Promise<string> {
  const key = await localKey(dataDir);
  return createHmac("sha256", key).update(principal).digest("base64url");
}

/**
 * The local "account" of a data dir: names (a project called "rad-crawler-db") are looked up within
 * it, so two state dirs sharing one Postgres and Redis never find, or re-key, each other's resources.
 */
export async function localAccount(dataDir: string): Promise<string> {
  return (await localPassword(dataDir, "account")).slice(0, 12);
}

/** Encrypts a JSON value under the data dir's key (AES-256-GCM): `base64(iv | tag | ciphertext)`. */
export async function sealJson(dataDir: string, value: unknown): Promise<string> {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", await localKey(dataDir), iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), data]).toString("base64");
}

/** Decrypts what `sealJson` wrote. */
export async function openJson(dataDir: string, sealed: string): Promise<unknown> {
  const bytes = Buffer.from(sealed, "base64");
  const decipher = createDecipheriv("aes-256-gcm", await localKey(dataDir), bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(12, 28));
  return JSON.parse(Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString("utf8"));
}

/** A local service that cannot be used (not reachable, or a missing object); the message has no secrets. */
export class LocalBackendError extends Error {
  readonly code = "LOCAL_BACKEND_ERROR";

  constructor(message: string) {
    super(message);
    this.name = "LocalBackendError";
  }
}

export function isLocalBackendError(error: unknown): error is LocalBackendError {
  return error instanceof LocalBackendError;
}
