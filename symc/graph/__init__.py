"""The graph: immutable, interned nodes; their types; traversal; printing."""
