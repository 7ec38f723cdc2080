"""botocore's service model (service-2.json): the one place the suite loads it.

The spec's evidence (spec/evidence.py) and drift check (spec/diff.py) read it whole; the transport and the
reference server read only the HTTP bindings of the operations the spec does not describe (DescribeUser,
DeleteUser, ListUsers), as `HttpBinding`s.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Mapping

import botocore
import botocore.loaders

SERVICE = "quicksight"


@lru_cache(maxsize=None)
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


@lru_cache(maxsize=None)
def service_model(service: str = SERVICE, api_version: str | None = None) -> dict[str, Any]:
    """The service's model as botocore ships it (None: its latest API version), loaded once per process.
    Shared: read it, never change it. botocore.exceptions.DataNotFoundError when botocore has no such model."""
    if api_version is None:
        api_version = _loader().determine_latest_version(service, "service-2")
        return service_model(service, api_version)
    return _loader().load_service_model(service, "service-2", api_version=api_version)


def botocore_version() -> str:
    return botocore.__version__


@dataclass(frozen=True)
class HttpBinding:
    """How the model binds an operation to HTTP: its method, its path template ("/accounts/{AwsAccountId}/..."),
    the query it always carries ("" or "a=b") and the wire name of each query-string member."""

    operation: str
    method: str
    path: str
    fixed_query: str
    query_names: Mapping[str, str]


@lru_cache(maxsize=None)
def http_binding(operation: str, service: str = SERVICE) -> HttpBinding:
    """The model's HTTP binding of one of the service's operations; ValueError for an operation it has not."""
    model = service_model(service)
    if operation not in model["operations"]:
        raise ValueError(f"{operation} is not a {model['metadata'].get('serviceId', service)} operation")
    op = model["operations"][operation]
    path, _, fixed = op["http"]["requestUri"].partition("?")
    members = model["shapes"][op["input"]["shape"]]["members"] if "input" in op else {}
    query = {name: m["locationName"] for name, m in members.items() if m.get("location") == "querystring"}
    return HttpBinding(operation, op["http"]["method"], path, fixed, MappingProxyType(query))
