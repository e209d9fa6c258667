"""``python -m jurisgrid.cli`` — the same as the ``jurisgrid`` console script."""

from jurisgrid.cli import app

app()
