"""The reliability suite reuses the UI handlers' fixture."""

from tests.ui.conftest import ui  # noqa: F401 (a fixture)
