export const DAY_MS = 86_400_000;

/** ISO `since` for a period of `days` ending at `end` (the vehicle's newest log, or now). */
export function periodSince(end: string | null, days: number, now: number = Date.now()): string {
  const endMs = end ? Date.parse(end) : now;
  return new Date(endMs - days * DAY_MS).toISOString();
}
