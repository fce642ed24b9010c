// The certificate's figures: the anomalies of its window and how far its SoH can be trusted.
import type { AnomalyCode, Health } from "../../../api/types";

/** Reports in a window counted per anomaly code, and the number of reports with any anomaly. */
export function anomalyCounts(reports: { anomaly_details: { code: AnomalyCode }[] }[]): {
  reportsWithAnomalies: number;
  byCode: Partial<Record<AnomalyCode, number>>;
} {
  const byCode: Partial<Record<AnomalyCode, number>> = {};
  let reportsWithAnomalies = 0;
  for (const report of reports) {
    if (report.anomaly_details.length > 0) reportsWithAnomalies += 1;
    for (const detail of report.anomaly_details) byCode[detail.code] = (byCode[detail.code] ?? 0) + 1;
  }
  return { reportsWithAnomalies, byCode };
}

/** How far the SoH figure can be trusted, in the words of the PDF certificate (reports/certificate.py). */
export function confidenceText(health: Health): string {
  const forecast = health.forecast;
  if (health.soh_latest === null || forecast.status === "insufficient_data") {
    return `low: ${health.logs_used} log(s), too few for a trend; the figure is the last measurement`;
  }
  return `trend fitted to ${health.logs_used} logs; the forecast gives its ${Math.round(forecast.interval * 1000) / 10} % prediction interval`;
}
