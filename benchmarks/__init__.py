"""Scripts that print numbers (never timed assertions): `python -m benchmarks.<name>`."""
