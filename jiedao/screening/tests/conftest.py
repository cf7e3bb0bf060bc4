from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _var_dir(settings: Any, tmp_path: Any) -> None:
    # Uploaded lists are kept (encrypted) under VAR_DIR between the check and the commit: not in the checkout.
    settings.VAR_DIR = tmp_path
