"""Tracing's writes: trace runs and their contacts (runs.py), venue check-ins into the presence store
(checkins.py)."""
