"""Benchmarks of the whole stack: `python -m bench` (make bench), `--quick` for a smoke run.

Every case starts from the stack `bench.stack` starts (real nginx, Postgres, services, the
offline model), measures each figure against a baseline taken in the same run, and hands
`bench.report.Row`s to the report, which prints one markdown table and writes it down.
"""
