// Log in and out: the JWT pair from POST /api/v1/auth/token, kept by src/lib/tokens.ts.
import { publicApi } from "../../../api/public";
import { unwrap } from "../../../api/errors";
import { tokensWrite } from "../../../lib/tokens";

/** Log in: store the pair. Throws an ApiError with the server's message when refused. */
export async function login(username: string, password: string): Promise<void> {
  const pair = unwrap(await publicApi.POST("/api/v1/auth/token", { body: { username, password } }));
  tokensWrite({ access: pair.access, refresh: pair.refresh });
}

export function logout(): void {
  tokensWrite(null);
}
