"""The `fleetbench` command line: parses, checks input, renders; the work is in cluster/ and below."""
