import type { FleetWindow } from "../../../api/types";

const WINDOWS: { value: FleetWindow; label: string }[] = [
  { value: "24h", label: "24 hours" },
  { value: "7d", label: "7 days" },
  { value: "30d", label: "30 days" },
];

export function FleetWindowSelect({ value, onChange }: { value: FleetWindow; onChange: (window: FleetWindow) => void }) {
  return (
    <label className="inline">
      Window
      <select value={value} onChange={(event) => onChange(event.target.value as FleetWindow)}>
        {WINDOWS.map((window) => (
          <option key={window.value} value={window.value}>
            {window.label}
          </option>
        ))}
      </select>
    </label>
  );
}
