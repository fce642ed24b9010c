"""Mock battery telemetry: a deterministic log generator and an HTTP fleet simulator."""
