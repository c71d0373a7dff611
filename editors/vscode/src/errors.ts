/** An error's message, for the log and notifications. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
