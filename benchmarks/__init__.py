"""sweep-tracker benchmarks: ``python -m benchmarks`` (see benchmarks/README.md)."""
