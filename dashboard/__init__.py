"""Offline HTML dashboard over the archive and the calibration files."""
