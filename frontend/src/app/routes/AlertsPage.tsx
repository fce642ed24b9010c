import { useState } from "react";
import type { AlertState } from "../../api/types";
import { Card } from "../../components/Status";
import { AlertStateTabs } from "../../features/alerts/components/AlertStateTabs";
import { AlertTable } from "../../features/alerts/components/AlertTable";
import { WebhooksCard } from "../../features/webhooks/components/WebhooksCard";
import { useVocabulary } from "../../lib/vocabulary-query";

export function AlertsPage() {
  const labels = useVocabulary();
  const [state, setState] = useState<AlertState>("open");
  return (
    <>
      <h1>Alerts</h1>
      <AlertStateTabs value={state} onChange={setState} />
      <Card title={`${labels.alertState[state]} alerts`}>
        <AlertTable filters={{ state }} />
      </Card>
      <WebhooksCard />
    </>
  );
}
