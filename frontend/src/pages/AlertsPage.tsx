import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../api/client";
import type { Alert, Webhook } from "../api/types";
import { Card, ErrorMessage, Loading, Query } from "../components/Status";
import { capitalize, cursorOf, formatDateTime } from "../lib/shape";

type State = "open" | "acknowledged" | "resolved";
const STATES: State[] = ["open", "acknowledged", "resolved"];

export function AlertsPage() {
  const [state, setState] = useState<State>("open");
  return (
    <>
      <h1>Alerts</h1>
      <div className="tabs" role="group" aria-label="Alert state">
        {STATES.map((value) => (
          <button key={value} type="button" aria-pressed={state === value} className={state === value ? "" : "secondary"} onClick={() => setState(value)}>
            {capitalize(value)}
          </button>
        ))}
      </div>
      <Card title={`${capitalize(state)} alerts`}>
        <AlertTable filters={{ state }} />
      </Card>
      <WebhooksCard />
    </>
  );
}

export function AlertTable({ filters }: { filters: { state?: State; vehicle_id?: string } }) {
  const queryClient = useQueryClient();
  const alerts = useInfiniteQuery({
    queryKey: ["alerts", filters],
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) =>
      unwrap(await api.GET("/api/v1/alerts", { params: { query: { ...filters, limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (page) => cursorOf(page.next),
  });
  const act = useMutation({
    mutationFn: async ({ alert, action }: { alert: Alert; action: "acknowledge" | "resolve" }) => {
      const params = { params: { path: { alert_id: alert.id } } };
      return unwrap(
        action === "acknowledge"
          ? await api.POST("/api/v1/alerts/{alert_id}/acknowledge", params)
          : await api.POST("/api/v1/alerts/{alert_id}/resolve", params),
      );
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["alerts"] });
      void queryClient.invalidateQueries({ queryKey: ["fleet-summary"] });
    },
  });
  if (alerts.isPending) return <Loading what="alerts" />;
  if (alerts.error) return <ErrorMessage error={alerts.error} what="alerts" />;
  const rows = alerts.data.pages.flatMap((page) => page.results);
  return (
    <>
      {act.error && <ErrorMessage error={act.error} what="the alert" />}
      <div className="table-wrap">
        <table data-testid="alerts-table">
          <thead>
            <tr>
              <th scope="col">Vehicle</th>
              <th scope="col">Type</th>
              <th scope="col">Severity</th>
              <th scope="col">State</th>
              <th scope="col">Opened</th>
              <th scope="col">Last seen</th>
              <th scope="col">Seen</th>
              <th scope="col">Cells</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((alert) => (
              <tr key={alert.id} data-alert-id={alert.id}>
                <td>
                  <Link to={`/vehicles/${encodeURIComponent(alert.vehicle_id)}`}>{alert.vehicle_id}</Link>
                </td>
                <td>{alert.type}</td>
                <td>
                  <span className={`severity severity-${alert.severity}`}>{alert.severity}</span>
                </td>
                <td data-testid="alert-state">{alert.state}</td>
                <td>{formatDateTime(alert.opened_at)}</td>
                <td>
                  <Link to={`/logs/${alert.last_log_id}`}>{formatDateTime(alert.last_seen_at)}</Link>
                </td>
                <td className="num">{alert.occurrences}</td>
                <td>{alert.cells.slice(0, 6).join(", ") + (alert.cells.length > 6 ? "…" : "")}</td>
                <td className="actions">
                  {alert.state === "open" && (
                    <button type="button" disabled={act.isPending} onClick={() => act.mutate({ alert, action: "acknowledge" })} aria-label={`Acknowledge ${alert.type} on ${alert.vehicle_id}`}>
                      Acknowledge
                    </button>
                  )}
                  {alert.state !== "resolved" && (
                    <button type="button" className="secondary" disabled={act.isPending} onClick={() => act.mutate({ alert, action: "resolve" })} aria-label={`Resolve ${alert.type} on ${alert.vehicle_id}`}>
                      Resolve
                    </button>
                  )}
                  {alert.state === "resolved" && <span>{alert.resolution}</span>}
                </td>
              </tr>
            ))}
            {rows.length === 0 && (
              <tr>
                <td colSpan={9}>No alerts.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {alerts.hasNextPage && (
        <button type="button" onClick={() => void alerts.fetchNextPage()} disabled={alerts.isFetchingNextPage}>
          {alerts.isFetchingNextPage ? "Loading…" : "Load more"}
        </button>
      )}
    </>
  );
}

function WebhooksCard() {
  const webhooks = useQuery({
    queryKey: ["webhooks"],
    queryFn: async () => unwrap(await api.GET("/api/v1/webhooks", { params: { query: { limit: 100 } } })),
  });
  return (
    <Card title="Webhooks">
      <Query query={webhooks} what="webhooks">
        {(data) =>
          data.results.length === 0 ? (
            <p>No webhooks. Register one with POST /api/v1/webhooks (README, "Alerts and webhooks").</p>
          ) : (
            <ul className="webhooks" data-testid="webhooks">
              {data.results.map((webhook) => (
                <WebhookItem key={webhook.id} webhook={webhook} />
              ))}
            </ul>
          )
        }
      </Query>
    </Card>
  );
}

function WebhookItem({ webhook }: { webhook: Webhook }) {
  const [open, setOpen] = useState(false);
  const deliveries = useQuery({
    queryKey: ["deliveries", webhook.id],
    enabled: open,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/webhooks/{webhook_id}/deliveries", { params: { path: { webhook_id: webhook.id }, query: { limit: 50 } } })),
  });
  return (
    <li>
      <p>
        <strong>{webhook.url}</strong> {webhook.active ? "active" : "inactive"} · {webhook.events.join(", ")} · since {formatDateTime(webhook.created_at)}{" "}
        <button type="button" className="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? "Hide deliveries" : "Show deliveries"}
        </button>
      </p>
      {open && (
        <Query query={deliveries} what="deliveries">
          {(data) => (
            <div className="table-wrap">
              <table data-testid="deliveries-table">
                <thead>
                  <tr>
                    <th scope="col">Created</th>
                    <th scope="col">Event</th>
                    <th scope="col">Sequence</th>
                    <th scope="col">Status</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Last code</th>
                    <th scope="col">Next attempt</th>
                  </tr>
                </thead>
                <tbody>
                  {data.results.map((delivery) => (
                    <tr key={delivery.id}>
                      <td>{formatDateTime(delivery.created_at)}</td>
                      <td>{delivery.event}</td>
                      <td className="num">{delivery.sequence}</td>
                      <td>{delivery.status}</td>
                      <td className="num">{delivery.attempts}</td>
                      <td>{delivery.last_status_code ?? "–"}</td>
                      <td>{formatDateTime(delivery.next_attempt_at)}</td>
                    </tr>
                  ))}
                  {data.results.length === 0 && (
                    <tr>
                      <td colSpan={7}>No deliveries yet.</td>
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
          )}
        </Query>
      )}
    </li>
  );
}
