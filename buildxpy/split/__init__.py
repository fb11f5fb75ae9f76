"""Builds by digest: one platform pushed untagged and its record (``builds``, ``records``), and the
merge of records into one index (``merge``, ``options``)."""
