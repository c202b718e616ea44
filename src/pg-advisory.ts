import type { ClientBase, Pool } from "pg";

/** A transaction-scoped advisory lock's key: a name (Postgres hashes it) or a pair of numbers. */
export type AdvisoryKey = string | [number, number];

/**
 * Runs `fn` in one transaction on `client` that holds the advisory lock `key` from its start until it
 * commits (or rolls back, when `fn` throws): holders of the same key take turns, in any process.
 */
export async function lockedTransaction<T>(client: ClientBase, key: AdvisoryKey, fn: () => Promise<T>): Promise<T> {
  try {
    await client.query("BEGIN");
    if (typeof key === "string") await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [key]);
    else await client.query("SELECT pg_advisory_xact_lock($1, $2)", key);
    const result = await fn();
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/**
 * `CREATE TABLE IF NOT EXISTS` on a database that other processes may be opening at the same moment
 * (workers started together). Postgres does not serialise concurrent creations of one table: the losers
 * fail on its catalog (a unique violation on pg_type, or "type … already exists", depending on timing).
 * An advisory lock keyed on the table's name makes them take turns, so every one after the first finds
 * the table and skips it.
 */
export async function createTableOnce(pool: Pool, table: string, columns: string): Promise<void> {
  const client = await pool.connect();
  try {
    await lockedTransaction(client, `credit-optimizer create ${table}`, () => client.query(`CREATE TABLE IF NOT EXISTS ${table} (${columns})`));
  } finally {
    client.release();
  }
}
