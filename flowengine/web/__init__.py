"""The web face of flowengine: REST API, Open311 intake, staff inbox, citizen status page.

A thin layer over :class:`flowengine.Engine`, holding no workflow logic of its
own. ``flowengine serve`` runs it with uvicorn; a program embedding the
library can mount ``create_app(engine)`` in its own ASGI server.
"""

from flowengine.web.app import create_app

__all__ = ["create_app"]
