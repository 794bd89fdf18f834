"""Benchmarks: training throughput, install sizes, and the edge package against Keras."""
