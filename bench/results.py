"""Results directories, at the path tables/README.md promises (`bench.results.load_samples`, ...);
the code lives in bench.measure.results."""

from bench.measure.results import COLUMNS, CONTRACT_COLUMNS, KEY_COLUMNS, ResultsDir, load_peaks, load_samples

__all__ = ["COLUMNS", "CONTRACT_COLUMNS", "KEY_COLUMNS", "ResultsDir", "load_peaks", "load_samples"]
