"""The NumPy-like user API: variables' operators, creation, math, shape, indexing."""
