/** PostgreSQL SQLSTATE checks that both drivers expose as `code`. */
export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  const err = e as { code?: string; constraint?: string } | null;
  return err?.code === "23505" && (constraint === undefined || err.constraint === constraint);
}

export function isSerializationFailure(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code === "40001" || code === "40P01";
}
