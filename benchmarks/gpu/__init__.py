"""The GPU benchmark: one script, `benchmarks/gpu/pretraining_step.py` (see its docstring)."""
