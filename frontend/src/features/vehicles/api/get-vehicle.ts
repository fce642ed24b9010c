import { useQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import { vehicleKeys } from "./keys";

/** GET /api/v1/vehicles/<id>: the registry and the latest report. */
export function useVehicle(vehicleId: string) {
  return useQuery({
    queryKey: vehicleKeys.detail(vehicleId),
    queryFn: async () => unwrap(await api.GET("/api/v1/vehicles/{vehicle_id}", { params: { path: { vehicle_id: vehicleId } } })),
  });
}
