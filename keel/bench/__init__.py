"""`keel bench` / `make bench`: what users of the platform pay for, measured on the machine at hand.

Benchmarks measure; tests never assert timings. Each measurement has its own module; `main` runs them
in order (the noise-sensitive ones first) and `report` renders BENCHMARKS.md and the printed table.
"""
