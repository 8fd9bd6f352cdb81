"""Converters between s5rf-deploy's model and other formats (``s5rf_deploy.converters``)."""
