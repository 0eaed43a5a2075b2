"""Runnable examples; ``make run`` runs the demo."""
