import { Link } from "react-router";
import type { Health, Vehicle } from "../../../api/types";
import { HealthChart } from "../../../components/charts/HealthChart";
import { ErrorMessage, Query, type QueryState } from "../../../components/Status";
import { formatDate, formatNumber } from "../../../lib/format";
import { forecastSentence } from "../../../lib/health";
import { DAY_MS, periodSince } from "../../../lib/time";
import { anomalyCountsText } from "../../../lib/vocabulary";
import { useVocabulary } from "../../../lib/vocabulary-query";
import { useDownloadCertificate } from "../api/download-certificate";
import { useLatestReport, useReportsSince } from "../api/get-certificate-reports";
import { anomalyCounts, confidenceText } from "../utils/certificate";

/** The days of reports whose anomalies the certificate counts, up to the end of today (UTC). */
const CERTIFICATE_DAYS = 90;

/** The printable battery health certificate of a vehicle, from its registry and latest report (`vehicle`) and
 *  its health trend (`health`), with the anomalies of the last 90 days and a PDF download. */
export function Certificate({ vehicleId, vehicle, health }: { vehicleId: string; vehicle: QueryState<Vehicle>; health: QueryState<Health> }) {
  const labels = useVocabulary();
  const today = new Date().toISOString().slice(0, 10);
  const since = periodSince(null, CERTIFICATE_DAYS, Date.parse(`${today}T00:00:00Z`) + DAY_MS);
  const recent = useReportsSince(vehicleId, since);
  const latestReport = useLatestReport(vehicleId);
  const pdf = useDownloadCertificate(vehicleId);

  return (
    <div className="certificate">
      <div className="no-print page-head">
        <Link to={`/vehicles/${encodeURIComponent(vehicleId)}`}>← Back to the vehicle</Link>
        <span className="actions">
          <button type="button" onClick={() => window.print()}>
            Print
          </button>
          <button type="button" className="secondary" onClick={() => pdf.mutate()} disabled={pdf.isPending}>
            {pdf.isPending ? "Downloading…" : "Download PDF"}
          </button>
        </span>
      </div>
      {pdf.error && <ErrorMessage error={pdf.error} what="the PDF" />}
      <h1>Battery health certificate</h1>
      <Query query={vehicle} what="the vehicle">
        {(v) => (
          <Query query={health} what="the health trend">
            {(h) => {
              const first = h.series[0];
              const last = h.series.at(-1);
              return (
                <>
                  <dl className="facts certificate-facts">
                    <dt>Vehicle</dt>
                    <dd data-testid="cert-vehicle">{v.vehicle_id}</dd>
                    <dt>VIN</dt>
                    <dd>{v.vin ?? "not registered"}</dd>
                    <dt>Model</dt>
                    <dd>{v.model ?? "–"}</dd>
                    <dt>Manufactured</dt>
                    <dd>{v.manufacture_date ?? "–"}</dd>
                    <dt>Battery profile</dt>
                    <dd>{v.profile}</dd>
                    <dt>State of health</dt>
                    <dd>
                      <strong className="big" data-testid="cert-soh">
                        {formatNumber(v.latest?.battery_soh)} %
                      </strong>{" "}
                      latest report, {formatDate(v.latest?.timestamp)}
                    </dd>
                    <dt>Confidence</dt>
                    <dd data-testid="cert-confidence">
                      {confidenceText(h)} (reports from {formatDate(first?.timestamp)} to {formatDate(last?.timestamp)}
                      {h.jumps.length > 0 ? `; ${h.jumps.length} jump(s) kept out of the trend` : ""})
                    </dd>
                    <dt>Cycle count</dt>
                    <dd data-testid="cert-cycles">{v.latest?.cycle_count ?? "–"}</dd>
                    <dt>Fade</dt>
                    <dd>
                      {formatNumber(h.fade.percent_per_1000_cycles, 2)} % per 1,000 cycles; {formatNumber(h.fade.percent_per_year, 2)} % per year
                    </dd>
                    <dt>Forecast</dt>
                    <dd>{forecastSentence(h)}</dd>
                    <dt>Anomalies, last {CERTIFICATE_DAYS} days</dt>
                    <dd data-testid="cert-anomalies">
                      {recent.isPending
                        ? "loading…"
                        : recent.error
                          ? "could not be loaded"
                          : (() => {
                              const counts = anomalyCounts(recent.data ?? []);
                              return `${counts.reportsWithAnomalies} of ${recent.data?.length ?? 0} reports (${anomalyCountsText(labels.anomaly, counts.byCode)})`;
                            })()}
                    </dd>
                    <dt>Method</dt>
                    <dd data-testid="cert-method">
                      trend {h.forecast.method} {h.forecast.version}; report rules {latestReport.data?.rules_version ?? "–"} ({latestReport.data?.profile ?? v.profile})
                    </dd>
                    <dt>Date</dt>
                    <dd data-testid="cert-date">{today}</dd>
                  </dl>
                  <section className="certificate-chart" aria-label="State of health trend">
                    <h2>State of health over time</h2>
                    <HealthChart health={h} axis="time" height={260} />
                  </section>
                  <p className="caption">
                    Issued by the battery health service from the vehicle's battery management system reports. SoH = current / nominal capacity.
                  </p>
                </>
              );
            }}
          </Query>
        )}
      </Query>
    </div>
  );
}
