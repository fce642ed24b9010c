import { useState } from "react";
import type { FleetWindow } from "../../api/types";
import { AnomalyTimelineCard } from "../../features/fleet/components/AnomalyTimelineCard";
import { FleetSummary } from "../../features/fleet/components/FleetSummary";
import { FleetWindowSelect } from "../../features/fleet/components/FleetWindowSelect";
import { VehicleTable } from "../../features/vehicles/components/VehicleTable";

export function FleetPage() {
  // The API's default window; 30 days costs the summary a wider scan.
  const [window, setWindow] = useState<FleetWindow>("24h");
  return (
    <>
      <div className="page-head">
        <h1>Fleet overview</h1>
        <FleetWindowSelect value={window} onChange={setWindow} />
      </div>
      <FleetSummary window={window} />
      {/* Outside the summary's Query, so that its request starts with the others, not after the summary. */}
      <div className="grid">
        <AnomalyTimelineCard />
      </div>
      <VehicleTable />
    </>
  );
}
