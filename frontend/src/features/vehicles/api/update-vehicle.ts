import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import type { VehicleRegistry } from "../../../api/types";
import { vehicleKeys } from "./keys";

/** PUT /api/v1/vehicles/<id>: the registry. The answer is the vehicle; the lists and the health (its profile's
 *  threshold) are asked again. */
export function useUpdateVehicle(vehicleId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: [...vehicleKeys.detail(vehicleId), "update"],
    mutationFn: async (body: VehicleRegistry) =>
      unwrap(await api.PUT("/api/v1/vehicles/{vehicle_id}", { params: { path: { vehicle_id: vehicleId } }, body })),
    onSuccess: (saved) => {
      queryClient.setQueryData(vehicleKeys.detail(vehicleId), saved);
      void queryClient.invalidateQueries({ queryKey: vehicleKeys.lists() });
      void queryClient.invalidateQueries({ queryKey: vehicleKeys.health(vehicleId) });
    },
  });
}
