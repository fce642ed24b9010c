import type { AlertState } from "../../../api/types";
import { ALERT_STATES } from "../../../lib/vocabulary";
import { useVocabulary } from "../../../lib/vocabulary-query";

/** One toggle button per alert state. */
export function AlertStateTabs({ value, onChange }: { value: AlertState; onChange: (state: AlertState) => void }) {
  const labels = useVocabulary();
  return (
    <div className="tabs" role="group" aria-label="Alert state">
      {ALERT_STATES.map((state) => (
        <button key={state} type="button" aria-pressed={value === state} className={value === state ? "" : "secondary"} onClick={() => onChange(state)}>
          {labels.alertState[state]}
        </button>
      ))}
    </div>
  );
}
