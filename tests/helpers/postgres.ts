import { randomUUID } from "node:crypto";
import pg from "pg";

/** The local Postgres (127.0.0.1:5432, trust auth), as its administrator. */
export const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** Scratch databases on the local Postgres for one test file: `create` makes one (its URL), `dropAll` drops them all. */
export function scratchDatabases(prefix: string): { create(): Promise<string>; dropAll(): Promise<void> } {
  const made: string[] = [];
  const asAdmin = async (fn: (admin: pg.Client) => Promise<void>): Promise<void> => {
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    try {
      await fn(admin);
    } finally {
      await admin.end();
    }
  };
  return {
    async create() {
      const db = `${prefix}_${randomUUID().replace(/-/g, "")}`;
      await asAdmin((admin) => admin.query(`CREATE DATABASE ${db}`).then(() => undefined));
      made.push(db);
      return `postgres://postgres@127.0.0.1:5432/${db}`;
    },
    async dropAll() {
      await asAdmin(async (admin) => {
        for (const db of made.splice(0)) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      });
    },
  };
}
