// The typed client for the two endpoints that take no bearer token: log in and refresh (src/lib/tokens.ts).
import createClient from "openapi-fetch";
import type { paths } from "./schema";

export const publicApi = createClient<paths>({
  baseUrl: window.location.origin,
  headers: { Accept: "application/json" },
  // Looked up at each call, not captured here (the token tests replace fetch).
  fetch: (request: Request) => globalThis.fetch(request),
});
