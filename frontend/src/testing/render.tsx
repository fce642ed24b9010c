// Rendering a component the way the app does (a QueryClient, a router) against a stubbed fetch.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";
import { vi } from "vitest";
import { vocabularyKeys } from "../lib/vocabulary-query";
import { vocabularyFixture } from "./fixtures";

/** A QueryClient as the app's, holding the vocabulary already (the app asks for it once, as the first page loads). */
export function testQueryClient(): QueryClient {
  // No retries: a test's error answer shows at once.
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  client.setQueryData(vocabularyKeys.all, vocabularyFixture);
  return client;
}

export function renderWithClient(ui: ReactNode) {
  const client = testQueryClient();
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter>{ui}</MemoryRouter>
    </QueryClientProvider>,
  );
}

export interface Answer {
  status?: number;
  body: unknown;
}

/** Replace fetch with `answer`; the URLs asked for, in order. */
export function stubApi(answer: (url: URL) => Answer): URL[] {
  const asked: URL[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      const url = new URL(request.url);
      asked.push(url);
      const { status = 200, body } = answer(url);
      return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
    }),
  );
  return asked;
}
