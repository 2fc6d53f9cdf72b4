"""Prices, bills and monthly projections; knows nothing of SimPy."""
