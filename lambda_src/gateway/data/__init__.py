"""Data files shipped in the package (prices)."""
