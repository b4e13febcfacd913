"""Running containers: runtime-spec documents, the runc executor, networking, records."""
