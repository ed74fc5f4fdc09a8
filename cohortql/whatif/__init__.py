"""What-if analysis for trial designers: cached re-counts, variants, sweeps, impact (docs/whatif.md)."""
