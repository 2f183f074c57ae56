"""The NAT matrix reuses tests/integration's fixtures and helpers (start_rtprec, the
per-test time limit, config_yaml, ...) and its modules (nat_lab, sip_uac, test_nat).

tests/integration/conftest.py is loaded under its own name and re-exported here:
pytest imports this file as the module `conftest`, so `from conftest import sh` in
nat_lab.py and in the tests gets the same helpers. Run tests/nat on its own
(tests/nat/run.sh), not in one pytest run with tests/integration."""
import importlib.util
import sys
from pathlib import Path

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(INTEGRATION))

_spec = importlib.util.spec_from_file_location("rtprec_integration_conftest",
                                               INTEGRATION / "conftest.py")
_integration = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _integration
_spec.loader.exec_module(_integration)

from rtprec_integration_conftest import *  # noqa: E402,F401,F403  fixtures, hooks, helpers


def pytest_collection_modifyitems(config, items):
    """Every scenario needs root (namespaces, af_packet) and these tools."""
    import os
    import shutil

    import pytest

    missing = [t for t in ("turnserver", "nft", "sipp", "tshark", "ip") if not shutil.which(t)]
    if os.geteuid() != 0 or missing:
        skip = pytest.mark.skip(reason=f"needs root and {', '.join(missing) or 'nothing else'}")
        for item in items:
            item.add_marker(skip)
