"""The side-by-side benchmark's parts (`benchmarks/side_by_side.py` runs them).

`mock_probe.py` runs under guidellm's own venv; every other module runs under
fleetbench's and never imports guidellm.
"""
