"""A local TestFiesta: the v1 REST API and the TestRail-compatible shim, as an ASGI app.

It speaks the published contracts (specs/testfiesta-v1.openapi.json, specs/testrail-v2-shim
.openapi.json) and nothing more, so the product can be tested against it in-process
(``httpx.ASGITransport``) or over real HTTP (``emulators.server.start_in_thread``). It imports
only the standard library and Starlette: never ``core`` or ``tui``.

Public API:

- :func:`create_app` (``state=None, *, handle, token, requests_per_minute=None, latency=0.0,
  fault_rate=0.0, fault_seed=0, monotonic=time.monotonic, max_body_bytes=100 KB,
  faults=None, slow_seconds=35.0, retry_after=1``) -> Starlette app (fault injection:
  :mod:`emulators.faults`, live as ``app.state.faults``).
- :func:`build` (``handle, token, rpm=None``) -> app, for ``railfiesta emulate testfiesta``.
- :class:`TestFiestaState`: the organisation's data, clock and catalogues, with accessors for
  tests (``projects()``, ``project(key)``, ``root_folder(key)``, ``folders(key)``,
  ``cases(key)``, ``runs(key)``, ``executions(key)``, ``templates(key)``,
  ``custom_fields(key)``, ``milestones(key)``, ``plans(key)``, ``shared_steps(key)``,
  ``tags()``) and domain operations for seeders (``create_project``, ``create_folder``,
  ``create_case``, ``create_tag``, ...).
- :class:`ExecutionStatus`, :class:`Priority`, :class:`CaseStatus` and their defaults, to
  configure the org's catalogues.

Behaviour the contracts leave open is marked [INF] in the docstrings of each module:
``state`` (ids, timestamps, soft deletes), ``listing`` (pagination), ``dto`` (validation),
``bulk`` (the /data upsert), ``shim`` and ``app`` (auth, errors, fault knobs).

Test mode: with ``RAILFIESTA_CONTRACT_SPECS`` set to the specs directory, every app checks its
requests and answers against the published specs (``contract``; the documented spec fix-ups,
§1.5/§3.12 tolerances and shim path mapping are in ``contract_spec``). Neither module is imported
otherwise, so the runtime never needs openapi-core.
"""

from emulators.testfiesta.app import build, create_app
from emulators.testfiesta.state import (
    DEFAULT_CASE_STATUSES,
    DEFAULT_EXECUTION_STATUSES,
    DEFAULT_PRIORITIES,
    CaseStatus,
    ExecutionStatus,
    Priority,
    TestFiestaState,
)

__all__ = [
    "DEFAULT_CASE_STATUSES",
    "DEFAULT_EXECUTION_STATUSES",
    "DEFAULT_PRIORITIES",
    "CaseStatus",
    "ExecutionStatus",
    "Priority",
    "TestFiestaState",
    "build",
    "create_app",
]
