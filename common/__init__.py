"""Cross-cutting pieces: strict JSON parsing, the error shape, health endpoints."""
