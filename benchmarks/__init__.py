"""Benchmarks of xl-pricing, measured as ratios against a baseline run side by side (the
machines are shared and noisy, so absolute times mean little).  Run ``python -m benchmarks
[--quick]``; the last line of output is one JSON object."""
