"""Sub-commands of `python -m training`, one module per group: data, train, registry."""
