"""`python -m repm.cli`: the same as the `repm` command."""

from repm.cli import main

main()
