"""Arrivals, samplers and task plans: what the agents will do, drawn ahead."""
