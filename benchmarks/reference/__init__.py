"""Reference implementations the benchmarks measure our service against (see benchmarks/README.md)."""
