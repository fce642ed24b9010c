// The one API client: openapi-fetch typed by the generated schema, over a fetch that adds the bearer token,
// refreshes it silently before it expires, and retries once after a 401 with a refreshed token.
import createClient from "openapi-fetch";
import type { paths } from "./schema";
import { accessToken, tokensRefresh, tokensWrite } from "../auth/tokens";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The contract's error shape `{"error": {"code", "message"}}`, or a line naming the status. */
export function errorFrom(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (error && typeof error.message === "string") {
    return new ApiError(status, typeof error.code === "string" ? error.code : "error", error.message);
  }
  return new ApiError(status, "error", `The server answered ${status}.`);
}

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

/** The data of an openapi-fetch answer, or an ApiError thrown from its error body. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined || !result.response.ok) throw errorFrom(result.response.status, result.error);
  return result.data;
}

/** GET for the answers the schema describes only as "object" (see types.ts). */
export async function getJson<T>(path: string): Promise<T> {
  const response = await authFetch(new Request(new URL(path, window.location.origin)));
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw errorFrom(response.status, body);
  return body as T;
}

/** Fetch a file with the bearer token and hand it to the browser as a download. */
export async function downloadFile(path: string, filename: string): Promise<void> {
  const response = await authFetch(new Request(new URL(path, window.location.origin), { headers: { Accept: "*/*" } }));
  if (!response.ok) throw errorFrom(response.status, await response.json().catch(() => null));
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Log in: store the pair. Throws an ApiError with the server's message when refused. */
export async function login(username: string, password: string): Promise<void> {
  const response = await fetch("/api/v1/auth/token", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ username, password }),
  });
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw errorFrom(response.status, body);
  const pair = body as { access: string; refresh: string };
  tokensWrite({ access: pair.access, refresh: pair.refresh });
}

export function logout(): void {
  tokensWrite(null);
}
