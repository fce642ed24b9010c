import { useState } from "react";
import type { Delivery, Webhook } from "../../../api/types";
import { Card, Query } from "../../../components/Status";
import { DataTable, type Column } from "../../../components/table/DataTable";
import { formatDateTime } from "../../../lib/format";
import { useDeliveries } from "../api/get-deliveries";
import { useWebhooks } from "../api/get-webhooks";

/** The fleet's webhooks, each with its delivery log on demand. */
export function WebhooksCard() {
  const webhooks = useWebhooks();
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

const DELIVERY_COLUMNS: Column<Delivery>[] = [
  { key: "created", header: "Created", cell: (delivery) => formatDateTime(delivery.created_at) },
  { key: "event", header: "Event", cell: (delivery) => delivery.event },
  { key: "sequence", header: "Sequence", className: "num", cell: (delivery) => delivery.sequence },
  { key: "status", header: "Status", cell: (delivery) => delivery.status },
  { key: "attempts", header: "Attempts", className: "num", cell: (delivery) => delivery.attempts },
  { key: "code", header: "Last code", cell: (delivery) => delivery.last_status_code ?? "–" },
  { key: "next", header: "Next attempt", cell: (delivery) => formatDateTime(delivery.next_attempt_at) },
];

function WebhookItem({ webhook }: { webhook: Webhook }) {
  const [open, setOpen] = useState(false);
  const deliveries = useDeliveries(webhook.id, open);
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
            <DataTable
              testId="deliveries-table"
              columns={DELIVERY_COLUMNS}
              rows={data.results}
              rowKey={(delivery) => delivery.id}
              empty="No deliveries yet."
            />
          )}
        </Query>
      )}
    </li>
  );
}
