// How figures, dates and times are written on every page.
import { DAY_MS } from "./time";

export function formatNumber(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || Number.isNaN(value) ? "–" : value.toFixed(digits);
}

export function formatDate(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : "–";
}

export function formatDateTime(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : "–";
}

/** Tick labels for a time axis: months for spans over 90 days, days below. */
export function dateTickFormatter(fromMs: number, toMs: number): (t: number) => string {
  const long = Number.isFinite(fromMs) && Number.isFinite(toMs) && toMs - fromMs > 90 * DAY_MS;
  return (t: number) => (Number.isFinite(t) ? new Date(t).toISOString().slice(0, long ? 7 : 10) : "");
}
