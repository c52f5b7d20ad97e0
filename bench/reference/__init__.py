"""The bench's references. raw_app.py, floor_app.py and outbox_off.py are started by module name
in the raw reference's or a baked service's own environment (uvicorn, bench/inprocess.py
--path), and defaults.py only uses the standard library: each stands alone and imports nothing
from bench."""
