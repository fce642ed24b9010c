import { Link } from "react-router";
import type { Alert, AlertFilters } from "../../../api/types";
import { ErrorMessage, Query } from "../../../components/Status";
import { DataTable, type Column } from "../../../components/table/DataTable";
import { LoadMore } from "../../../components/table/LoadMore";
import { pagedRows } from "../../../lib/cursor";
import { formatDateTime } from "../../../lib/format";
import { useAlerts } from "../api/get-alerts";
import { useAlertAction, type AlertAction } from "../api/act-on-alert";

/** How many of an alert's cells the table names. */
const CELLS_SHOWN = 6;

function columns(act: (alert: Alert, action: AlertAction) => void, busy: boolean): Column<Alert>[] {
  return [
    { key: "vehicle", header: "Vehicle", cell: (alert) => <Link to={`/vehicles/${encodeURIComponent(alert.vehicle_id)}`}>{alert.vehicle_id}</Link> },
    { key: "type", header: "Type", cell: (alert) => alert.type },
    { key: "severity", header: "Severity", cell: (alert) => <span className={`severity severity-${alert.severity}`}>{alert.severity}</span> },
    { key: "state", header: "State", testId: "alert-state", cell: (alert) => alert.state },
    { key: "opened", header: "Opened", cell: (alert) => formatDateTime(alert.opened_at) },
    { key: "last-seen", header: "Last seen", cell: (alert) => <Link to={`/logs/${alert.last_log_id}`}>{formatDateTime(alert.last_seen_at)}</Link> },
    { key: "seen", header: "Seen", className: "num", cell: (alert) => alert.occurrences },
    {
      key: "cells",
      header: "Cells",
      cell: (alert) => alert.cells.slice(0, CELLS_SHOWN).join(", ") + (alert.cells.length > CELLS_SHOWN ? "…" : ""),
    },
    {
      key: "actions",
      header: <span className="visually-hidden">Actions</span>,
      className: "actions",
      cell: (alert) => (
        <>
          {alert.state === "open" && (
            <button type="button" disabled={busy} onClick={() => act(alert, "acknowledge")} aria-label={`Acknowledge ${alert.type} on ${alert.vehicle_id}`}>
              Acknowledge
            </button>
          )}
          {alert.state !== "resolved" && (
            <button type="button" className="secondary" disabled={busy} onClick={() => act(alert, "resolve")} aria-label={`Resolve ${alert.type} on ${alert.vehicle_id}`}>
              Resolve
            </button>
          )}
          {alert.state === "resolved" && <span>{alert.resolution}</span>}
        </>
      ),
    },
  ];
}

/** Alerts matching `filters`, with Acknowledge and Resolve buttons. */
export function AlertTable({ filters }: { filters: Pick<AlertFilters, "state" | "vehicle_id"> }) {
  const alerts = useAlerts(filters);
  const act = useAlertAction();
  return (
    <Query query={alerts} what="alerts">
      {(data) => (
        <>
          {act.error && <ErrorMessage error={act.error} what="the alert" />}
          <DataTable
            testId="alerts-table"
            columns={columns((alert, action) => act.mutate({ alert, action }), act.isPending)}
            rows={pagedRows(data)}
            rowKey={(alert) => alert.id}
            rowProps={(alert) => ({ "data-alert-id": alert.id })}
            empty="No alerts."
          />
          <LoadMore pages={alerts} />
        </>
      )}
    </Query>
  );
}
