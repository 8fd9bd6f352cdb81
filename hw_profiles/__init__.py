"""Hardware profiles (``s5rf_deploy.hw_profiles``): TOML data files and their loader."""
