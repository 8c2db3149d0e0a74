"""Results: the engine's Dataset and the declared indicators (indicators.py, build.py), what each
figure is made of (explain.py) and the run store (store/)."""
