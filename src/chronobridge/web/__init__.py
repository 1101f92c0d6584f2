"""The hub's web app (FastAPI): DrChrono's webhook ingress, the OAuth callback, health and
metrics; later the admin UI and the iframes.

    app = create_app(ServeOptions(database_url=url, keys=key_ring, worker=WorkerConfig(...)))
    uvicorn.run(app, host="127.0.0.1", port=8600, access_log=False)
"""

from __future__ import annotations

from chronobridge.web._app import MIB, ServeOptions, create_app
from chronobridge.web._state import WebState

__all__ = ["MIB", "ServeOptions", "WebState", "create_app"]
