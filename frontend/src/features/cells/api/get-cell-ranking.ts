import { useQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import { cellKeys } from "./keys";

/** GET /api/v1/vehicles/<id>/cells: the cells ranked by how far they are from the pack (API.md section 6). */
export function useCellRanking(vehicleId: string, windowDays: number) {
  return useQuery({
    queryKey: cellKeys.ranking(vehicleId, windowDays),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/vehicles/{vehicle_id}/cells", {
          params: { path: { vehicle_id: vehicleId }, query: { window_days: windowDays } },
        }),
      ),
  });
}
