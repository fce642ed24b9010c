import type { Health } from "../../../api/types";
import { HealthChart } from "../../../components/charts/HealthChart";
import { Card } from "../../../components/Status";
import { formatDate, formatNumber } from "../../../lib/format";
import { forecastSentence } from "../../../lib/health";

/** The vehicle's health: the latest SoH, the fade, the forecast and the jumps, then SoH over time and over cycles. */
export function HealthCards({ health }: { health: Health }) {
  return (
    <>
      <Card title="State of health">
        <dl className="facts">
          <dt>Latest SoH</dt>
          <dd data-testid="soh-latest">{formatNumber(health.soh_latest)} %</dd>
          <dt>Fade</dt>
          <dd>
            {formatNumber(health.fade.percent_per_1000_cycles, 2)} % per 1,000 cycles, {formatNumber(health.fade.percent_per_year, 2)} % per year
          </dd>
          <dt>Forecast</dt>
          <dd data-testid="forecast">{forecastSentence(health)}</dd>
          <dt>Jumps</dt>
          <dd>
            {health.jumps.length === 0
              ? "none"
              : health.jumps.map((jump) => `${formatDate(jump.timestamp)} (${jump.delta > 0 ? "+" : ""}${formatNumber(jump.delta)} points)`).join(", ")}
          </dd>
          <dt>Method</dt>
          <dd>
            {health.forecast.method} {health.forecast.version}, {health.logs_used} logs
          </dd>
        </dl>
      </Card>
      <Card title="SoH over time">
        <HealthChart health={health} axis="time" />
      </Card>
      <Card title="SoH over cycles">
        <HealthChart health={health} axis="cycles" />
      </Card>
    </>
  );
}
