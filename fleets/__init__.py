"""Fleets and their users: tenancy."""
