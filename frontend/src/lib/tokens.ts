// The JWT pair in localStorage, the silent refresh (one at a time: refreshing rotates the refresh token and
// blacklists the old one, so two concurrent refreshes would log the user out) and the expiry test.
import { jwtDecode } from "jwt-decode";
import { publicApi } from "../api/public";

export interface TokenPair {
  access: string;
  refresh: string;
}

const KEY = "battery.tokens";
// Refresh when the access token has less than this left, so no request goes out with a token about to expire.
export const REFRESH_MARGIN_S = 30;

type Listener = (pair: TokenPair | null) => void;
const listeners = new Set<Listener>();

export function tokensRead(): TokenPair | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const pair = JSON.parse(raw) as Partial<TokenPair>;
    return typeof pair.access === "string" && typeof pair.refresh === "string"
      ? { access: pair.access, refresh: pair.refresh }
      : null;
  } catch {
    return null;
  }
}

export function tokensWrite(pair: TokenPair | null): void {
  if (pair) localStorage.setItem(KEY, JSON.stringify(pair));
  else localStorage.removeItem(KEY);
  listeners.forEach((listener) => listener(pair));
}

export function tokensSubscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Seconds since the epoch at which a JWT expires, or null when it cannot be read. */
export function tokenExpiry(token: string): number | null {
  try {
    const { exp } = jwtDecode<{ exp?: number }>(token);
    return typeof exp === "number" ? exp : null;
  } catch {
    return null;
  }
}

/** True when the token expires within `marginS` seconds of `nowS` (or cannot be read). */
export function tokenExpiring(token: string, nowS: number, marginS = REFRESH_MARGIN_S): boolean {
  const exp = tokenExpiry(token);
  return exp === null || exp - nowS <= marginS;
}

let inFlight: Promise<TokenPair | null> | null = null;

/** Exchange the refresh token for a new pair; null (and logged out) when it is refused. Single-flight. */
export function tokensRefresh(): Promise<TokenPair | null> {
  if (inFlight) return inFlight;
  const current = tokensRead();
  if (!current) return Promise.resolve(null);
  inFlight = (async () => {
    try {
      const { data, response } = await publicApi.POST("/api/v1/auth/token/refresh", { body: { refresh: current.refresh } });
      if (!response.ok || data === undefined) {
        // A 5xx or 429 is not a refused token: keep the pair and let the request fail visibly.
        if (response.status === 401 || response.status === 400) tokensWrite(null);
        return null;
      }
      // The schema says the answer always rotates the refresh token; keep the old one should it not.
      const pair = { access: data.access, refresh: data.refresh || current.refresh };
      tokensWrite(pair);
      return pair;
    } finally {
      inFlight = null;
    }
  })();
  return inFlight;
}

/** A usable access token: the stored one, or a refreshed one when it is about to expire. */
export async function accessToken(): Promise<string | null> {
  const pair = tokensRead();
  if (!pair) return null;
  if (!tokenExpiring(pair.access, Date.now() / 1000)) return pair.access;
  const refreshed = await tokensRefresh();
  return refreshed?.access ?? null;
}
