import { mkdir } from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";

/**
 * Writes a file whole or not at all: through a temp file of its own (unique per writer, so two
 * processes writing at once never mix) and a rename, so a reader never sees half of it. The folder is
 * made when missing. The default mode is private, because most state here holds handles and tokens.
 */
export async function writeAtomic(file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFileAtomic(file, typeof data === "string" ? data : Buffer.from(data), { mode });
}

/** `writeAtomic` of a value as indented JSON with a final newline. */
export async function writeJsonAtomic(file: string, value: unknown, mode = 0o600): Promise<void> {
  await writeAtomic(file, `${JSON.stringify(value, null, 2)}\n`, mode);
}
