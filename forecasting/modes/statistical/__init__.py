"""Statistical baselines: fast, dependency-free, always available."""
