from autopack_site.errors import Conflict, Unprocessable


class ConfigDrift(Conflict):
    code = "config_drift"


class LeaseLost(Conflict):
    code = "lease_lost"


class InvalidPhaseGraph(Unprocessable):
    code = "invalid_phase_graph"
