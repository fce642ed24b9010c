// The API's cursor pagination (a list answer's `next` URL carries an opaque cursor), for useInfiniteQuery.

/** The opaque cursor of a list answer's `next` URL, or null at the end. */
export function cursorOf(next: string | null | undefined): string | null {
  if (!next) return null;
  try {
    return new URL(next, "http://localhost").searchParams.get("cursor");
  } catch {
    return null;
  }
}

/** The paging options of an infinite query over a cursor-paginated list. */
export const cursorPaging = {
  initialPageParam: null as string | null,
  getNextPageParam: (page: { next: string | null }) => cursorOf(page.next),
};

/** The `cursor` query parameter for a page, none for the first. */
export function withCursor(cursor: string | null): { cursor?: string } {
  return cursor ? { cursor } : {};
}

/** Every row of the pages loaded so far. */
export function pagedRows<Row>(data: { pages: { results: Row[] }[] } | undefined): Row[] {
  return data?.pages.flatMap((page) => page.results) ?? [];
}
