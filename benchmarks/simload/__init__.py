"""What the simulator benchmarks share: their generated inputs (a suite, a simulator
config, a fleet config), `fleetbench run` started as a user starts it and watched from
outside, and the run's records read back. `faults.py` and `many_calls.py` use it.
"""
