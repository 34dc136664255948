"""`python -m cli`: the `fleetbench` command."""

from cli.app import main

main()
