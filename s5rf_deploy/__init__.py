"""s5rf-deploy: deploy S5-RF resonate-and-fire networks to neuromorphic hardware.

Importing the package installs the Lava compatibility hook (see
:mod:`s5rf_deploy.lava_compat`) so that lava-nc 0.10.0 imports on Python 3.11+.
"""

from s5rf_deploy import lava_compat

__version__ = "0.1.0"

lava_compat.install()
