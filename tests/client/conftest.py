# The ledger's fixtures (fake provider on loopback, a governed project, an operator).
from ledger.tests.conftest import approver, fake_provider, ledger_project  # noqa: F401
