/** The periods the cell page offers, in days up to the vehicle's newest log. */
const PERIODS = [7, 30, 90, 180, 365];

export function CellPeriodSelect({ value, onChange }: { value: number; onChange: (days: number) => void }) {
  return (
    <label className="inline">
      Period
      <select value={value} onChange={(event) => onChange(Number(event.target.value))}>
        {PERIODS.map((days) => (
          <option key={days} value={days}>
            last {days} days
          </option>
        ))}
      </select>
    </label>
  );
}
