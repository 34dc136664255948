"""Loopback provider simulator: OpenAI, Anthropic and Ollama wire formats with scripted
latency, limits and faults, plus per-request ground truth for checking the harness."""

from simulator.config import BrainConfig, FaultRule, LimitConfig, OutputSpec, SimConfig, load_sim_config
from simulator.server import SimServer, SimThread
from simulator.truth import RequestTruth

__all__ = [
    "BrainConfig", "FaultRule", "LimitConfig", "OutputSpec", "RequestTruth", "SimConfig", "SimServer",
    "SimThread", "load_sim_config",
]
