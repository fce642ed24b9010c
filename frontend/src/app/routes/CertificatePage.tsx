import { useParams } from "react-router";
import { Certificate } from "../../features/certificate/components/Certificate";
import { useVehicle } from "../../features/vehicles/api/get-vehicle";
import { useVehicleHealth } from "../../features/vehicles/api/get-vehicle-health";

export function CertificatePage() {
  const vehicleId = useParams().vehicleId ?? "";
  const vehicle = useVehicle(vehicleId);
  const health = useVehicleHealth(vehicleId);
  return <Certificate vehicleId={vehicleId} vehicle={vehicle} health={health} />;
}
