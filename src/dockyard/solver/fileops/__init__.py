"""COPY and ADD: resolve sources, hash what they read, write them into a root filesystem.

``plan.prepare_copy`` (no writes; its ``checksum`` feeds the cache key) and
``copy.apply_copy`` (writes, on a cache miss). ``tree.SourceTree`` is what a copy
reads: the build context snapshot or a stage/image root filesystem.
"""
