"""Access-matrix entries for the quarantine-site and transfer pages."""
