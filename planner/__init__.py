"""Festival wellness planner."""
import os

# Piccolo finds its engine through this module; set before any table is used.
os.environ.setdefault("PICCOLO_CONF", "planner.piccolo_conf")

__version__ = "0.1.0"
