"""Settings for the HTTP benchmark: the product's settings plus the floor endpoint's URLs."""

from autopack_site.settings import *  # noqa: F403

ROOT_URLCONF = "tests.perf.bench_urls"
DEBUG = False
LOGGING = {"version": 1, "disable_existing_loggers": False}  # keep the servers quiet
