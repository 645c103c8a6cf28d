"""Open-source operating system for forex brokerages and prop firms."""

import os

# Piccolo tables find their engine through this module path (the piccolo CLI reads it too).
os.environ.setdefault("PICCOLO_CONF", "crm.piccolo_conf")
