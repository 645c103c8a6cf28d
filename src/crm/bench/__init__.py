"""Benchmarks behind `crm bench <name>`: each prints one JSON line of figures."""
