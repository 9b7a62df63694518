"""REST API for service callers (FastAPI) over the same ForecastService as the app and the CLI.

``forecasting.api.app.create_app`` builds the application; see that module for
the command that runs it.
"""
