import { useState, type FormEvent } from "react";
import type { Profile, Vehicle } from "../../../api/types";
import { Card, ErrorMessage } from "../../../components/Status";
import { formatDateTime } from "../../../lib/format";
import { PROFILES } from "../../../lib/vocabulary";
import { useVocabulary } from "../../../lib/vocabulary-query";
import { useUpdateVehicle } from "../api/update-vehicle";

/** The vehicle's registry fields, editable. */
export function Registry({ vehicle }: { vehicle: Vehicle }) {
  const labels = useVocabulary();
  const [message, setMessage] = useState<string | null>(null);
  const save = useUpdateVehicle(vehicle.vehicle_id);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => {
      const value = String(form.get(name) ?? "").trim();
      return value === "" ? null : value;
    };
    save.mutate(
      {
        vin: text("vin"),
        model: text("model"),
        manufacture_date: text("manufacture_date"),
        profile: String(form.get("profile")) as Profile,
      },
      { onSuccess: () => setMessage("Saved."), onError: () => setMessage(null) },
    );
  }

  return (
    <Card title="Registry">
      <p className="caption">
        First seen {formatDateTime(vehicle.first_seen)}, last seen {formatDateTime(vehicle.last_seen)}, {vehicle.log_count} logs.
      </p>
      <form className="registry" onSubmit={submit} key={JSON.stringify(vehicle)}>
        <label>
          VIN
          <input name="vin" defaultValue={vehicle.vin ?? ""} maxLength={17} pattern="[A-HJ-NPR-Z0-9]{17}" title="17 characters, A–Z and 0–9 without I, O, Q" />
        </label>
        <label>
          Model
          <input name="model" defaultValue={vehicle.model ?? ""} />
        </label>
        <label>
          Manufactured
          <input name="manufacture_date" type="date" defaultValue={vehicle.manufacture_date ?? ""} />
        </label>
        <label>
          Profile
          <select name="profile" defaultValue={vehicle.profile}>
            {PROFILES.map((profile) => (
              <option key={profile} value={profile}>
                {labels.profile[profile]}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save"}
        </button>
        {message && (
          <span className="ok" role="status">
            {message}
          </span>
        )}
        {save.error && <ErrorMessage error={save.error} what="the change" />}
      </form>
    </Card>
  );
}
