import { useInfiniteQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import type { VehicleFilters } from "../../../api/types";
import { cursorPaging, withCursor } from "../../../lib/cursor";
import { vehicleKeys } from "./keys";

/** GET /api/v1/vehicles, filtered and ordered, a page at a time through the API's cursor. */
export function useVehicles(filters: VehicleFilters) {
  return useInfiniteQuery({
    queryKey: vehicleKeys.list(filters),
    ...cursorPaging,
    queryFn: async ({ pageParam }) =>
      unwrap(await api.GET("/api/v1/vehicles", { params: { query: { ...filters, ...withCursor(pageParam) } } })),
  });
}
