"""The chain's modules for a block of parameter samples at once (issue 14 part 6): each takes a
`repm.scenario.samples.SampleBlock` and returns what its per-sample module returns, every array
with a leading sample axis, bit for bit what the per-sample module gives each sample (the rules
that keep it exact: `exact.py`; each module's parity test runs drawn samples of every shipped
scenario through both). `repm.chain.compile.compile_chain(s, parts=...)` takes a sample's slice
of them in place of calling its own module."""
