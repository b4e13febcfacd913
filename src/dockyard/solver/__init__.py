"""The solver: runs a build graph with a content-addressed cache, in parallel."""
