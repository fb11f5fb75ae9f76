"""Configuration: flags > environment > ``buildxpy.toml`` / ``[tool.buildxpy]`` > defaults
(``model``). Read by the command line and the Python API, which hand the capabilities plain values."""
