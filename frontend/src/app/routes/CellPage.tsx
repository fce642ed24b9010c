import { useState } from "react";
import { Link, useParams } from "react-router";
import { Query } from "../../components/Status";
import { CellHistory } from "../../features/cells/components/CellHistory";
import { CellPeriodSelect } from "../../features/cells/components/CellPeriodSelect";
import { useVehicle } from "../../features/vehicles/api/get-vehicle";
import { periodSince } from "../../lib/time";

export function CellPage() {
  const params = useParams();
  const vehicleId = params.vehicleId ?? "";
  const cellId = params.cellId ?? "";
  const [days, setDays] = useState(90);
  const vehicle = useVehicle(vehicleId);
  return (
    <>
      <h1>
        Cell #{cellId} of <Link to={`/vehicles/${encodeURIComponent(vehicleId)}`}>{vehicleId}</Link>
      </h1>
      <CellPeriodSelect value={days} onChange={setDays} />
      <Query query={vehicle} what="the vehicle">
        {/* The period ends at the vehicle's newest log, so a vehicle that stopped reporting still shows its last days. */}
        {(data) => <CellHistory vehicleId={vehicleId} cellId={cellId} since={periodSince(data.last_seen, days)} />}
      </Query>
    </>
  );
}
