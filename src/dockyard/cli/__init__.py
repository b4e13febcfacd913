"""The command-line interface: a thin layer over dockyard.api, one module per command group."""
