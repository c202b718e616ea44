/**
 * The Postgres URL in a state URL (`postgres://…`, `postgresql://…`, or the `postgres:postgres://…`
 * spelling of `--checkpointer`), or undefined when the URL names SQLite or nothing.
 */
export function postgresUrl(url: string | undefined): string | undefined {
  const normalised = url?.replace(/^postgres:(?!\/\/)/, "");
  return normalised && /^postgres(ql)?:\/\//.test(normalised) ? normalised : undefined;
}
