"""``buildxpy rebuild-check``: the commit behind a pushed image built again, on a fresh builder
with no cache, into an OCI archive, and each platform's manifest compared with the pushed one; where
they differ, the layers and the files inside them that differ."""
