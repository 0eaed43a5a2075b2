"""The example application whose jobs ``make run`` dispatches."""
