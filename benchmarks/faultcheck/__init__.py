"""The fault benchmark's parts (`benchmarks/faults.py` runs them): the fault mix and its
rate arithmetic (`mix.py`), and the audit of a run's records against the simulator's
ground truth (`audit.py`). All pure, so tests/benchmarks checks them without a simulator.
"""
