import type { Pool } from "pg";

/**
 * `CREATE TABLE IF NOT EXISTS` on a database that other processes may be opening at the same moment
 * (workers started together). Postgres does not serialise concurrent creations of one table: the losers
 * fail on its catalog (a unique violation on pg_type, or "type … already exists", depending on timing).
 * A transaction-scoped advisory lock keyed on the table's name makes them take turns, so every one
 * after the first finds the table and skips it.
 */
export async function createTableOnce(pool: Pool, table: string, columns: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`credit-optimizer create ${table}`]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (${columns})`);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
