"""The live-account commands, ``doctor`` and ``discover``.

Everything under this package talks to AWS through botocore (boto3's core) and is imported
only by those two commands, so ``generate``, ``validate`` and ``--check`` (and the pre-commit
hooks) never import boto3 or botocore.
"""
