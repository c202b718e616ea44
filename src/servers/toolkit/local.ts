import { createHmac, randomBytes } from "node:crypto";
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
