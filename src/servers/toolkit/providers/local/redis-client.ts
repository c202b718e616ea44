import { createClient } from "redis";

/*
 * The Redis client in a module of its own: the local Redis backends import this file when they first
 * connect, so the toolkit server does not load the client (about 600 KB of code) at every start.
 * Imported dynamically as our own module, not as `import("redis")`: that package is CommonJS, and a
 * dynamic import of it in the bundle has no named exports.
 */
export { createClient };

export type RedisClient = ReturnType<typeof createClient>;
