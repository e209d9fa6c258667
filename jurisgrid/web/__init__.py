"""The web map at ``/``: static files (HTML, ES modules, CSS) and MapLibre GL JS from npm."""
