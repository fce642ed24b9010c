"""Ingestion of battery diagnostic logs."""
