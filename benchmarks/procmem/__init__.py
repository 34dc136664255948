"""Peak memory of every process a benchmark run starts: sampled with psutil over the
processes its meter holds (`sample.py`), named by what each one is (`roles.py`), and
summed up per role (`aggregate.py`). `benchmarks/many_calls.py` uses it.
"""
