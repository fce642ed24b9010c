import { Link, useParams } from "react-router";
import { Card, Query } from "../../components/Status";
import { AlertTable } from "../../features/alerts/components/AlertTable";
import { CellRankingCard } from "../../features/cells/components/CellRankingCard";
import { ReportsCard } from "../../features/logs/components/ReportsCard";
import { useVehicle } from "../../features/vehicles/api/get-vehicle";
import { useVehicleHealth } from "../../features/vehicles/api/get-vehicle-health";
import { HealthCards } from "../../features/vehicles/components/HealthCards";
import { Registry } from "../../features/vehicles/components/Registry";

export function VehiclePage() {
  const vehicleId = useParams().vehicleId ?? "";
  const vehicle = useVehicle(vehicleId);
  const health = useVehicleHealth(vehicleId);
  return (
    <>
      <div className="page-head">
        <h1>
          Vehicle <span data-testid="vehicle-id">{vehicleId}</span>
        </h1>
        <Link className="button" to={`/vehicles/${encodeURIComponent(vehicleId)}/certificate`}>
          Health certificate
        </Link>
      </div>
      <Query query={vehicle} what="the vehicle">
        {(data) => <Registry vehicle={data} />}
      </Query>
      <Query query={health} what="the health trend">
        {(data) => (
          <div className="grid">
            <HealthCards health={data} />
            <CellRankingCard vehicleId={vehicleId} />
          </div>
        )}
      </Query>
      <ReportsCard vehicleId={vehicleId} />
      <Card title="Alerts">
        <AlertTable filters={{ vehicle_id: vehicleId }} />
      </Card>
    </>
  );
}
