import pytest
from cryptography.fernet import Fernet
from django.core.files.storage import storages


@pytest.fixture(autouse=True)
def artifact_root(settings, tmp_path):
    """Each test its own storage root, and a configured artifact key."""
    root = tmp_path / "artifacts"
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    storages._storages.pop("artifacts", None)
    storages.backends  # noqa: B018 - re-read from the overridden settings
    settings.AUTOPACK_ARTIFACT_KEYS = [Fernet.generate_key().decode()]
    yield root
    storages._storages.pop("artifacts", None)
