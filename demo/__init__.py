"""The `make demo` script: drives the real CLI through the seed flows."""
