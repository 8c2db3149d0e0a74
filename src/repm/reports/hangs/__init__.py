"""What an answer hangs on (issue 14 part 5): the stored sensitivity, uncertainty and value-of-
information runs of a scenario, read back for the report, the dashboard and `repm explain`.

Nothing here computes an index: a `repm sensitivity` run stores its indices as indicator rows
named sensitivity_S1, sensitivity_ST, … with the factor in the `channel` key; a `repm
uncertainty` run stores P5/P50/P95/mean rows with a `stat` key; a `repm voi` run stores voi_evpi
and voi_evppi rows (the fact or group in `channel`). They are read defensively: a run whose
rows or metadata are missing or of another shape is skipped, never an error.

Which runs: those of the same scenario, preferring the same settings (the scenario hash: the
same overrides) over the same scenario name with other settings, newest first. For each
(output, year) the latest Sobol run is shown.

In data-flow order:

    stored.py       finding a scenario's stored runs (same settings first) and reading their rows
    sensitivity.py  a sensitivity run's indices: the drivers `repm explain` names, Sobol bars
    uncertainty.py  an uncertainty run's P5/P50/P95 by year: the parameter fan
    voi.py          a voi run's EVPI and EVPPI ranking: the EVPPI bars and verdicts
    section.py      everything for one run: the report's section, the dashboard's figures, and
                    the small default sensitivity run `repm report` makes when none is stored
"""
