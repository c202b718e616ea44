import { createHash, timingSafeEqual } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import pg from "pg";
import { writeAtomic } from "../../../../atomic-write.ts";

/*
 * An embedded Postgres for machines without a Postgres server: each database is its own PGlite
 * instance (one PGlite holds one usable database) with its own data dir under `root`, opened as
 * its owner role, and served on its own 127.0.0.1 port.
 *
 * PGlite does no authentication, so it is served on a private Unix socket and a front on the TCP
 * port does the startup exchange itself: it asks for the password (cleartext, loopback only),
 * checks user, password and database name, and only then hands the connection to PGlite.
 */

const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const STARTUP_LIMIT = 10_000;
/** A Unix socket path has at most 107 bytes; sockets are named `<n>.sock`. */
const MAX_SOCKET_DIR = 90;
/** Smaller buffers than PGlite's default (128 MB each): about 50 MB per database instead of 165. */
const START_PARAMS = [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB", "-c", "work_mem=2MB"];

interface Instance {
  db: PGlite;
  socketServer: PGLiteSocketServer;
  front: net.Server;
  clients: Set<net.Socket>;
  port: number;
}

export interface DatabaseSpec {
  /** The database's name, also its data dir's name. */
  name: string;
  /** Its owner, the only role that may connect. */
  role: string;
  /** The port to serve it on; any free one when absent or taken. */
  port?: number;
}

export class EmbeddedPostgres {
  private readonly instances = new Map<string, Instance>();
  private readonly socketDir: string;
  private socketCount = 0;

  /**
   * `passwordOf(role)`: the password a role's connections must present. PGlite's private sockets
   * go in `<root>/sockets` (emptied first: one host per root), or in a temporary folder where
   * that path would be too long for a Unix socket.
   */
  constructor(
    private readonly root: string,
    private readonly passwordOf: (role: string) => Promise<string>,
  ) {
    this.socketDir = path.join(root, "sockets");
    if (this.socketDir.length > MAX_SOCKET_DIR) {
      this.socketDir = mkdtempSync(path.join(os.tmpdir(), "co-pglite-"));
    } else {
      rmSync(this.socketDir, { recursive: true, force: true });
      mkdirSync(this.socketDir, { recursive: true, mode: 0o700 });
    }
  }

  private dataDir(name: string): string {
    return path.join(this.root, "data", name);
  }

  /** Serves a database whose data dir already exists (after a restart); returns its port. */
  async open(spec: DatabaseSpec): Promise<number> {
    const db = await PGlite.create({ dataDir: this.dataDir(spec.name), username: spec.role, database: spec.name, startParams: START_PARAMS });
    return this.serve(spec, db);
  }

  /** Creates an empty database owned by `spec.role` and serves it; returns its port. */
  async create(spec: DatabaseSpec): Promise<number> {
    await this.prepare(spec.name, await this.blank(), async (db) => {
      await db.exec(`CREATE ROLE ${pg.escapeIdentifier(spec.role)} LOGIN`);
      await db.exec(`CREATE DATABASE ${pg.escapeIdentifier(spec.name)} OWNER ${pg.escapeIdentifier(spec.role)}`);
    });
    return this.open(spec);
  }

  /** Creates `spec.name` as a copy of the served database `source` (same owner) and serves it. */
  async copy(source: string, spec: DatabaseSpec): Promise<number> {
    const from = this.instances.get(source);
    if (!from) throw new Error(`embedded database ${source} is not running`);
    const snapshot = await from.db.dumpDataDir("none");
    await this.prepare(spec.name, snapshot, async (db) => {
      await db.exec(`ALTER DATABASE ${pg.escapeIdentifier(source)} RENAME TO ${pg.escapeIdentifier(spec.name)}`);
    });
    return this.open(spec);
  }

  /** Stops serving a database, ends its connections and deletes its data. */
  async drop(name: string): Promise<void> {
    await this.stop(name);
    await rm(this.dataDir(name), { recursive: true, force: true });
  }

  /** Stops every database (data kept). */
  async close(): Promise<void> {
    for (const name of [...this.instances.keys()]) await this.stop(name);
    rmSync(this.socketDir, { recursive: true, force: true });
  }

  private async stop(name: string): Promise<void> {
    const instance = this.instances.get(name);
    if (!instance) return;
    this.instances.delete(name);
    await new Promise<void>((resolve) => {
      instance.front.close(() => resolve());
      for (const socket of instance.clients) socket.destroy();
    });
    await instance.socketServer.stop();
    await instance.db.close();
  }

  /** Writes a data dir for `name` from a snapshot, after `setup` ran on it as the superuser. */
  private async prepare(name: string, snapshot: Blob, setup: (db: PGlite) => Promise<void>): Promise<void> {
    const dir = this.dataDir(name);
    await rm(dir, { recursive: true, force: true });
    await mkdir(path.dirname(dir), { recursive: true });
    const db = await PGlite.create({ dataDir: dir, loadDataDir: snapshot, startParams: START_PARAMS });
    try {
      await setup(db);
    } finally {
      await db.close();
    }
  }

  /** A freshly initialised cluster, made once (initdb takes seconds) and kept under `root`. */
  private async blank(): Promise<Blob> {
    const file = path.join(this.root, "blank.tar");
    try {
      return new Blob([await readFile(file)]);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const scratch = path.join(this.root, `initdb-${process.pid}`);
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const db = await PGlite.create({ dataDir: scratch });
    const snapshot = await db.dumpDataDir("none");
    await db.close();
    await rm(scratch, { recursive: true, force: true });
    await writeAtomic(file, new Uint8Array(await snapshot.arrayBuffer()));
    return snapshot;
  }

  private async serve(spec: DatabaseSpec, db: PGlite): Promise<number> {
    const socketPath = path.join(this.socketDir, `${this.socketCount++}.sock`);
    const socketServer = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 100 });
    await socketServer.start();
    const clients = new Set<net.Socket>();
    const front = net.createServer((socket) => {
      clients.add(socket);
      socket.once("close", () => clients.delete(socket));
      socket.on("error", () => socket.destroy());
      void authenticate(socket, spec, this.passwordOf, socketPath);
    });
    const port = await listen(front, spec.port).catch(() => listen(front, 0));
    this.instances.set(spec.name, { db, socketServer, front, clients, port });
    return port;
  }
}

function listen(server: net.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Reads whole messages from a socket during the startup exchange. */
class MessageReader {
  private buffer = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private ended = false;

  constructor(private readonly socket: net.Socket) {
    socket.on("data", this.onData);
    socket.once("close", () => {
      this.ended = true;
      this.waiting?.();
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > STARTUP_LIMIT) this.socket.destroy();
    this.waiting?.();
  };

  /** The next message: `typed` ones have a type byte before their length (all but startup packets). */
  async next(typed: boolean): Promise<{ type: string; body: Buffer; raw: Buffer }> {
    const head = typed ? 1 : 0;
    for (;;) {
      if (this.buffer.length >= head + 4) {
        const length = head + this.buffer.readInt32BE(head);
        if (length < head + 4 || length > STARTUP_LIMIT) throw new Error("bad message length");
        if (this.buffer.length >= length) {
          const raw = this.buffer.subarray(0, length);
          this.buffer = this.buffer.subarray(length);
          return { type: typed ? String.fromCharCode(raw[0]!) : "", body: raw.subarray(head + 4), raw };
        }
      }
      if (this.ended) throw new Error("connection closed");
      await new Promise<void>((resolve) => (this.waiting = resolve));
      this.waiting = undefined;
    }
  }

  /** Stops reading; returns what arrived after the last message. */
  release(): Buffer {
    this.socket.off("data", this.onData);
    return this.buffer;
  }
}

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function fatal(socket: net.Socket, code: string, text: string): void {
  const fields = [["S", "FATAL"], ["V", "FATAL"], ["C", code], ["M", text]].map(([k, v]) => `${k}${v}\0`).join("");
  socket.end(message("E", Buffer.from(`${fields}\0`, "utf8")));
}

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}

/** Runs the startup exchange as Postgres does, then pipes the connection to PGlite's socket. */
async function authenticate(socket: net.Socket, spec: DatabaseSpec, passwordOf: (role: string) => Promise<string>, socketPath: string): Promise<void> {
  const reader = new MessageReader(socket);
  try {
    let startup = await reader.next(false);
    for (;;) {
      const code = startup.body.readInt32BE(0);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        socket.write("N");
        startup = await reader.next(false);
      } else break;
    }
    const code = startup.body.readInt32BE(0);
    if (code === CANCEL_REQUEST) return pipe(socket, reader, startup.raw, socketPath);
    if (code !== PROTOCOL_3) return fatal(socket, "0A000", "unsupported frontend protocol");
    const parts = startup.body.subarray(4).toString("utf8").split("\0");
    const params = new Map<string, string>();
    for (let i = 0; i + 1 < parts.length && parts[i] !== ""; i += 2) params.set(parts[i]!, parts[i + 1]!);
    const user = params.get("user") ?? "";
    const database = params.get("database") || user;

    const ask = Buffer.alloc(4);
    ask.writeInt32BE(3); // AuthenticationCleartextPassword
    socket.write(message("R", ask));
    const reply = await reader.next(true);
    if (reply.type !== "p") return fatal(socket, "08P01", "expected a password message");
    const password = reply.body.subarray(0, Math.max(0, reply.body.indexOf(0))).toString("utf8");
    if (user !== spec.role || !sameSecret(password, await passwordOf(spec.role))) {
      return fatal(socket, "28P01", `password authentication failed for user "${user}"`);
    }
    if (database !== spec.name) return fatal(socket, "3D000", `database "${database}" does not exist`);
    pipe(socket, reader, startup.raw, socketPath);
  } catch {
    socket.destroy();
  }
}

function pipe(socket: net.Socket, reader: MessageReader, first: Buffer, socketPath: string): void {
  const rest = reader.release();
  const upstream = net.connect(socketPath);
  upstream.on("error", () => socket.destroy());
  socket.on("close", () => upstream.destroy());
  upstream.on("close", () => socket.destroy());
  upstream.write(Buffer.concat([first, rest]));
  socket.pipe(upstream);
  upstream.pipe(socket);
}
