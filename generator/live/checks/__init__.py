"""``doctor``'s checks, by concern; each is a function from what the account reader
(:mod:`generator.live.reader`) returns to findings (:mod:`generator.live.findings`):

* :mod:`.function` -- the function: ``function``, ``runtime``, ``vpc-config``,
  ``permission``, ``role``;
* :mod:`.network` -- reaching Secrets Manager: ``network``, ``egress``;
* :mod:`.secret` -- each secret, in order: ``secret``, then
* :mod:`.keys` -- ``kms-key``, ``key-state``, ``key-policy``, ``master-secret``;
* :mod:`.grants` -- ``grants`` (the function's real role, :mod:`generator.live.policy_eval`);
* :mod:`.rotation` -- ``rotation``, ``schedule``, ``overdue``, ``pending``;
* :mod:`.last_rotation` -- ``last-rotation`` (why a rotation failed, from its function's log);
* :mod:`.database` -- ``database``;
* :mod:`.value` -- ``value`` (``--read-values``);
* :mod:`.context` -- what every check sees, and the derivations several share.

Each check's id, title, severity, help and AWS source are in :mod:`generator.live.registry`.
A check reads AWS only through the reader, so a new check does not touch the reader, and a
change to how something is fetched does not touch the checks.
"""

from __future__ import annotations

from generator.live.checks import function, secret
from generator.live.checks.context import Context

__all__ = ["Context", "function_checks", "secret_checks"]

function_checks = function.check
secret_checks = secret.check
