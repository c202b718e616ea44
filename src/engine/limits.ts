/** A counting semaphore: at most `size` holders at once, served in arrival order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a concurrency limit must be a whole number ≥ 1, got ${size}`);
  }

  async acquire(): Promise<() => void> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/** One semaphore per MCP server: calls to one server never exceed its limit. */
export class ServerLimits {
  private readonly semaphores = new Map<string, Semaphore>();

  constructor(private readonly limit = 8) {}

  for(server: string): Semaphore {
    let semaphore = this.semaphores.get(server);
    if (!semaphore) {
      semaphore = new Semaphore(this.limit);
      this.semaphores.set(server, semaphore);
    }
    return semaphore;
  }
}
