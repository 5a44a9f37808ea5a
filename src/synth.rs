//! Synthetic counties for the examples and the benchmarks.
