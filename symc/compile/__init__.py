"""Turning graphs into callables: argument checks, backends, updates of shared state."""
