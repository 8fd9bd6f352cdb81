"""The ``s5rf-deploy`` command line (installed as ``s5rf_deploy.cli``)."""
