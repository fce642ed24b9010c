// The contract's error shape, and the one way the dashboard turns an openapi-fetch answer into its data.

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

/** The data of an openapi-fetch answer, or an ApiError thrown from its error body. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined || !result.response.ok) throw errorFrom(result.response.status, result.error);
  return result.data;
}
