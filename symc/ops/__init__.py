"""Ops: frozen dataclasses whose fields are parameters and whose methods are rules."""
