import { useQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import { cellKeys } from "./keys";

/** The most readings one chart asks for; the page says when there were more. */
export const HISTORY_LIMIT = 10000;

/** GET /api/v1/vehicles/<id>/cells/<cell>/history since `since`: one cell's readings, oldest first. */
export function useCellHistory(vehicleId: string, cellId: string, since: string) {
  return useQuery({
    queryKey: cellKeys.history(vehicleId, cellId, since),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/vehicles/{vehicle_id}/cells/{cell_id}/history", {
          params: { path: { vehicle_id: vehicleId, cell_id: cellId }, query: { since, limit: HISTORY_LIMIT } },
        }),
      ),
  });
}
