import type { ReactNode } from "react";
import { ApiError } from "../api/errors";

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorMessage({ error, what }: { error: unknown; what: string }) {
  const detail = error instanceof Error ? error.message : String(error);
  const status = error instanceof ApiError ? ` (${error.status})` : "";
  return (
    <p className="error" role="alert">
      Could not load {what}
      {status}: {detail}
    </p>
  );
}

/** What <Query> reads of a TanStack query's result. */
export interface QueryState<T> {
  data: T | undefined;
  error: unknown;
  isPending: boolean;
}

/** The loading, error or ready state of one query. */
export function Query<T>({
  query,
  what,
  children,
}: {
  query: QueryState<T>;
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading what={what} />;
  if (query.error || query.data === undefined) return <ErrorMessage error={query.error} what={what} />;
  return <>{children(query.data)}</>;
}

export function Card({ title, children, className }: { title: string; children: ReactNode; className?: string }) {
  const id = `card-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return (
    <section className={`card ${className ?? ""}`} aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}
