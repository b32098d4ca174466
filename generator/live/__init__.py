"""The live-account commands, ``doctor`` and ``discover``.

Everything under this package talks to AWS through boto3 and is imported only by those two
commands, so ``generate``, ``validate`` and ``--check`` (and the pre-commit hooks) never
import boto3.
"""
