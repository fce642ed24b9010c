import { useInfiniteQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import { cursorPaging, withCursor } from "../../../lib/cursor";
import { logKeys } from "./keys";

/** GET /api/v1/vehicles/<id>/reports, newest first, 20 a page. */
export function useVehicleReports(vehicleId: string) {
  return useInfiniteQuery({
    queryKey: logKeys.vehicleReports(vehicleId),
    ...cursorPaging,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/vehicles/{vehicle_id}/reports", {
          params: { path: { vehicle_id: vehicleId }, query: { limit: 20, ...withCursor(pageParam) } },
        }),
      ),
  });
}
