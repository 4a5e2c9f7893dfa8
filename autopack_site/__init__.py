from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("autopack")
except PackageNotFoundError:  # running from a checkout that was never pip-installed
    __version__ = "0.0.0+checkout"
