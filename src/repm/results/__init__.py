"""Results: the engine's Dataset and the declared indicators (indicators.py; build.py and the
groups it calls: elements.py, sourcing.py, environment.py), what each figure is made of
(explain.py) and the run store (store/)."""
