"""Reports about models and code: benchmarks, the reproduction report, model summaries."""
