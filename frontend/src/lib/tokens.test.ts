// @vitest-environment jsdom
// (the token refresh goes through the typed client, whose base URL is the window's origin)
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// A minimal localStorage for the node test environment.
class MemoryStorage {
  private items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

function jwt(exp: number): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode({ exp, token_type: "access" })}.signature`;
}

describe("tokens", () => {
  beforeEach(() => {
    vi.stubGlobal("localStorage", new MemoryStorage());
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it("reads the expiry and says when a token is about to expire", async () => {
    const { tokenExpiry, tokenExpiring } = await import("./tokens");
    expect(tokenExpiry(jwt(1000))).toBe(1000);
    expect(tokenExpiry("not a jwt")).toBeNull();
    expect(tokenExpiring(jwt(1000), 900)).toBe(false);
    expect(tokenExpiring(jwt(1000), 975)).toBe(true);
    expect(tokenExpiring("garbage", 0)).toBe(true);
  });

  it("refreshes an expiring token once for concurrent callers and stores the rotated pair", async () => {
    const { accessToken, tokensRead, tokensWrite } = await import("./tokens");
    const now = Math.floor(Date.now() / 1000);
    tokensWrite({ access: jwt(now + 5), refresh: "r1" });
    const fresh = jwt(now + 900);
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ access: fresh, refresh: "r2" }), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    const [a, b] = await Promise.all([accessToken(), accessToken()]);
    expect(a).toBe(fresh);
    expect(b).toBe(fresh);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(tokensRead()).toEqual({ access: fresh, refresh: "r2" });
  });

  it("keeps a token that is not about to expire", async () => {
    const { accessToken, tokensWrite } = await import("./tokens");
    const token = jwt(Math.floor(Date.now() / 1000) + 600);
    tokensWrite({ access: token, refresh: "r1" });
    const fetchMock = vi.fn();
    vi.stubGlobal("fetch", fetchMock);
    expect(await accessToken()).toBe(token);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("logs out when the refresh token is refused", async () => {
    const { accessToken, tokensRead, tokensWrite } = await import("./tokens");
    tokensWrite({ access: jwt(0), refresh: "old" });
    vi.stubGlobal("fetch", vi.fn(async () => new Response("{}", { status: 401 })));
    expect(await accessToken()).toBeNull();
    expect(tokensRead()).toBeNull();
  });
});
