"""The Token Delivery Service's own error codes, within the shared error tree.

404, 429 and 500 keep the shared classes; four codes get a subclass so each of the
document's codes is told apart (catching the parent still catches them):

- 403 ``ForbiddenError``: the credentials are wrong or missing. Tokenly's servers
  answer a refused signature so (laravel-api-provider: 403 ``{"message", "errors"}``),
  so it is both an ``AuthenticationError`` (what went wrong) and a
  ``PermissionDeniedError`` (its status). A 401 (``{"error": reason, "message"}``, as
  tca-gate's own verifier answers) stays an ``AuthenticationError`` with the reason as
  ``code``;
- 405 ``MethodNotAllowedError`` (a ``ServiceError``): the endpoint does not take that method;
- 422 ``UnprocessableEntityError`` (an ``InvalidRequestError``): valid data broke a rule,
  where 400 (``InvalidRequestError`` itself) is data that could not be read;
- 503 ``MaintenanceError`` (a ``ServerError``): offline for maintenance, try again later.
"""

from __future__ import annotations

from tca_gate.errors import (
    ForbiddenError,
    MaintenanceError,
    MethodNotAllowedError,
    ServiceError,
    UnprocessableEntityError,
)

#: The service's own classes by status, for its client's core (the shared ones otherwise).
DELIVERY_ERRORS: dict[int, type[ServiceError]] = {
    403: ForbiddenError,
    405: MethodNotAllowedError,
    422: UnprocessableEntityError,
    503: MaintenanceError,
}
