"""The API's routes, one module per resource; each builds its router on request."""

from canhgac.api.routes.exports import exports_router
from canhgac.api.routes.health import health_router
from canhgac.api.routes.incidents import incidents_router
from canhgac.api.routes.me import me_router

__all__ = ["exports_router", "health_router", "incidents_router", "me_router"]
