// Rows of the app database are keyed by UUIDs; anything else can be answered "not found" without a query
// (and without PostgreSQL refusing the cast).
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
