"""What the CI and the checkout tell a build: tags from git (``git_tags``, ``git_queries``), OCI
metadata (``metadata``), and the step outputs and dotenv file written back (``outputs``)."""
