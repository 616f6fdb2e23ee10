"""flowengine's benchmarks: ``python -m benchmarks [NAME]`` (``make bench``).

Each benchmark prints a table and one JSON line of figures. None of them is a
test: machines here are shared and noisy, so figures are reported, never asserted.
"""
