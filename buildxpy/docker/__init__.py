"""The only place processes start (``runner``) and docker's output enters (``models``: its JSON as
pydantic models; ``input_text``: text docker cannot take; ``buildx_features``: which flags this
buildx knows). Every capability takes a ``Runner``."""
