"""Access-matrix entries for the tests, supplies, doctor's list and report pages."""
