"""The one engine: shocks sampled per draw (shocks, philox), the compiled time loop (kernel, on\ndemand through jit) and its labelled wrapper (engine.simulate)."""
