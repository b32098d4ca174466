"""``doctor``'s checks, by concern. Each check is declared once, beside the function that
judges it (:mod:`.check`: what a check is, and what its code sees); the table of every check
and the order they run in are built from the declarations (:mod:`generator.live.registry`):

* :mod:`.account` -- ``account`` (the credentials are the manifest's account's);
* :mod:`.function` -- the function: ``function``, ``runtime``, ``vpc-config``;
* :mod:`.network` -- reaching Secrets Manager: ``network``, ``egress``;
* :mod:`.invocation` -- ``permission`` (who may invoke it), ``role`` (as whom it runs);
* :mod:`.secret` -- ``secret`` (it exists; every other check of a secret needs it);
* :mod:`.keys` -- ``kms-key``, ``key-state``, ``key-policy``, ``master-secret``;
* :mod:`.grants` -- ``grants``, ``grants-judges`` (the function's real role,
  :mod:`generator.policy_eval`);
* :mod:`.rotation` -- ``rotation``, ``schedule``, ``overdue``, ``pending``;
* :mod:`.last_rotation` -- ``last-rotation`` (why a rotation failed, from its function's log);
* :mod:`.external` -- managed external secrets: ``secret-type``, ``external-trust``,
  ``external-grants``, ``external-rotation``;
* :mod:`.database` -- ``database``;
* :mod:`.value` -- ``value`` (``--read-values``);
* :mod:`.replica` -- ``replica`` (``--read-values``);
* :mod:`.context` -- what every check sees of the run, and the derivations several share.

A check reads AWS only through the account reader (:class:`generator.live.reader.Reader`),
so a new check does not touch the reader, and a change to how something is fetched does not
touch the checks.
"""
