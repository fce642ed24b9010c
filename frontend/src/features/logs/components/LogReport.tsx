import { Link } from "react-router";
import type { Report } from "../../../api/types";
import { Card, Query } from "../../../components/Status";
import { formatDateTime, formatNumber } from "../../../lib/format";
import { useVocabulary } from "../../../lib/vocabulary-query";
import { useReport } from "../api/get-report";

/** The log's report, or why there is none yet. */
export function LogReport({ logId }: { logId: string }) {
  const report = useReport(logId);
  return (
    <Query query={report} what="the report">
      {(data) =>
        data.status !== "completed" ? (
          <p className="error" role="alert">
            This log's report {data.status === "failed" ? "failed" : "is not ready yet"}.
          </p>
        ) : (
          <ReportCard report={data} />
        )
      }
    </Query>
  );
}

function ReportCard({ report }: { report: Report }) {
  const labels = useVocabulary();
  return (
    <Card title="Report">
      <dl className="facts">
        <dt>Vehicle</dt>
        <dd>
          <Link to={`/vehicles/${encodeURIComponent(report.vehicle_id)}`}>{report.vehicle_id}</Link>
        </dd>
        <dt>Log time</dt>
        <dd>{formatDateTime(report.timestamp)}</dd>
        <dt>SoH</dt>
        <dd data-testid="report-soh">{formatNumber(report.battery_soh)} %</dd>
        <dt>Cycles</dt>
        <dd>{report.cycle_count}</dd>
        <dt>Anomalies</dt>
        <dd data-testid="report-anomalies">
          {report.anomaly_details.length === 0
            ? "none"
            : report.anomaly_details.map((detail) => `${detail.message}: ${formatNumber(detail.value)} ${detail.unit} (threshold ${detail.threshold})`).join("; ")}
        </dd>
        <dt>Data quality</dt>
        <dd data-testid="data-quality">
          {report.data_quality.flags.length === 0
            ? "clean"
            : report.data_quality.flags.map((flag) => `${flag}: ${labels.dataQualityFlag[flag] ?? flag}`).join("; ")}
        </dd>
        <dt>Rules</dt>
        <dd>
          profile {report.profile}, rules {report.rules_version}, generated {formatDateTime(report.generated_at)}
        </dd>
      </dl>
    </Card>
  );
}
