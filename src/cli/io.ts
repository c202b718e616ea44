/** Where a command writes: results to `out` (stdout), everything for people to `err` (stderr). */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const consoleIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** The exit codes of every command, in one place (also in --help and the README). */
export const EXIT = { ok: 0, failed: 1, badInput: 2, waiting: 3 } as const;

export const EXIT_HELP = `Exit codes: 0 succeeded (or planned), 1 the run failed (rolled back or not) or was declined,
  2 invalid input (bad flags, an invalid plan, a hard budget cap, a thread that cannot resume),
  3 waiting for approval (continue with: credit-optimizer resume <thread> --approve | --reject).`;
