"""sweep-tracker benchmarks: ``python -m benchmarks [--full | --smoke]`` (see ``__main__``, the
README's "Performance" section, and RESULTS.md for the figures measured on this machine)."""
