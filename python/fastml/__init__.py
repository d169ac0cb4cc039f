from fastml import _core  # noqa: F401
