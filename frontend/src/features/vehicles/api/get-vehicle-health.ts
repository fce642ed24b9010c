import { useQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import { vehicleKeys } from "./keys";

/** GET /api/v1/vehicles/<id>/health: the SoH trend, its fade and the forecast (API.md section 6). */
export function useVehicleHealth(vehicleId: string) {
  return useQuery({
    queryKey: vehicleKeys.health(vehicleId),
    queryFn: async () => unwrap(await api.GET("/api/v1/vehicles/{vehicle_id}/health", { params: { path: { vehicle_id: vehicleId } } })),
  });
}
