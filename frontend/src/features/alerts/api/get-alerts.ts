import { useInfiniteQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import type { AlertFilters } from "../../../api/types";
import { cursorPaging, withCursor } from "../../../lib/cursor";
import { alertKeys } from "./keys";

/** GET /api/v1/alerts, filtered, 50 a page through the API's cursor. */
export function useAlerts(filters: AlertFilters) {
  return useInfiniteQuery({
    queryKey: alertKeys.list(filters),
    ...cursorPaging,
    queryFn: async ({ pageParam }) =>
      unwrap(await api.GET("/api/v1/alerts", { params: { query: { ...filters, limit: 50, ...withCursor(pageParam) } } })),
  });
}
