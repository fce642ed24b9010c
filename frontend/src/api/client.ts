// The one API client: openapi-fetch typed by the generated schema, over a fetch that adds the bearer token,
// refreshes it silently before it expires, and retries once after a 401 with a refreshed token.
import createClient from "openapi-fetch";
import type { paths } from "./schema";
import { accessToken, tokensRefresh, tokensWrite } from "../lib/tokens";

function withBearer(request: Request, token: string | null): Request {
  const headers = new Headers(request.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  headers.set("Accept", request.headers.get("Accept") ?? "application/json");
  return new Request(request, { headers });
}

export async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const response = await fetch(withBearer(input, await accessToken()));
  if (response.status !== 401) return response;
  const refreshed = await tokensRefresh();
  if (!refreshed) {
    tokensWrite(null);
    return response;
  }
  return fetch(withBearer(retry, refreshed.access));
}

export const api = createClient<paths>({ baseUrl: window.location.origin, fetch: authFetch });
