"""Dockerfile stages -> build graph (pure): vertices, image config, cache keys."""
