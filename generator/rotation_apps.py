"""AWS's published rotation functions in the Serverless Application Repository (SAR).

Application names, the publishing account per partition and the pinned semantic versions
are those the AWS CDK pins (aws-secretsmanager/lib/secret-rotation.ts). A manifest can
override the version per function. The stack needs CAPABILITY_IAM (it creates the
function's role) and CAPABILITY_RESOURCE_POLICY (it adds the function's permission).

What the application creates itself: the Lambda function (with SECRETS_MANAGER_ENDPOINT),
its execution role with the rotation grants on the account's secrets conditioned on
``secretsmanager:resource/AllowRotationLambdaArn``, the KMS grants for ``kmsKeyArn`` and
``masterSecretKmsKeyArn``, the VPC access policy when subnets are given, and a Lambda
permission for ``secretsmanager.amazonaws.com``. What it does not: the rotation of each
secret, and an ``aws:SourceAccount`` condition on that permission; the module adds both.
"""

from __future__ import annotations

from generator import engines

CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY")
OUTPUT = "RotationLambdaARN"

_PUBLISHER = {
    "aws": "arn:aws:serverlessrepo:us-east-1:297356227824:applications/",
    "aws-cn": "arn:aws-cn:serverlessrepo:cn-north-1:193023089310:applications/",
    "aws-us-gov": "arn:aws-us-gov:serverlessrepo:us-gov-west-1:023102451235:applications/",
}


# (engine, strategy) -> {partition: version}
_VERSIONS: dict[tuple[str, str], dict[str, str]] = {
    ("mariadb", "single_user"): {"aws": "1.1.670", "aws-cn": "1.1.442", "aws-us-gov": "1.1.399"},
    ("mariadb", "alternating_users"): {"aws": "1.1.670", "aws-cn": "1.1.441", "aws-us-gov": "1.1.398"},
    ("mysql", "single_user"): {"aws": "1.1.671", "aws-cn": "1.1.440", "aws-us-gov": "1.1.397"},
    ("mysql", "alternating_users"): {"aws": "1.1.671", "aws-cn": "1.1.440", "aws-us-gov": "1.1.397"},
    ("oracle", "single_user"): {"aws": "1.1.671", "aws-cn": "1.1.441", "aws-us-gov": "1.1.398"},
    ("oracle", "alternating_users"): {"aws": "1.1.671", "aws-cn": "1.1.441", "aws-us-gov": "1.1.398"},
    ("postgresql", "single_user"): {"aws": "1.1.671", "aws-cn": "1.1.440", "aws-us-gov": "1.1.397"},
    ("postgresql", "alternating_users"): {"aws": "1.1.671", "aws-cn": "1.1.440", "aws-us-gov": "1.1.397"},
    ("sqlserver", "single_user"): {"aws": "1.1.670", "aws-cn": "1.1.441", "aws-us-gov": "1.1.398"},
    ("sqlserver", "alternating_users"): {"aws": "1.1.671", "aws-cn": "1.1.441", "aws-us-gov": "1.1.398"},
    ("redshift", "single_user"): {"aws": "1.1.671", "aws-cn": "1.1.441", "aws-us-gov": "1.1.398"},
    ("redshift", "alternating_users"): {"aws": "1.1.671", "aws-cn": "1.1.440", "aws-us-gov": "1.1.397"},
    ("mongodb", "single_user"): {"aws": "1.1.671", "aws-cn": "1.1.440", "aws-us-gov": "1.1.397"},
    ("mongodb", "alternating_users"): {"aws": "1.1.671", "aws-cn": "1.1.441", "aws-us-gov": "1.1.398"},
    ("db2", "single_user"): {"aws": "1.1.271", "aws-cn": "1.1.242", "aws-us-gov": "1.1.199"},
    ("db2", "alternating_users"): {"aws": "1.1.272", "aws-cn": "1.1.240", "aws-us-gov": "1.1.197"},
}


def supported(engine: str) -> bool:
    return engines.application_infix(engine) is not None


def application_id(engine: str, strategy: str, partition: str) -> str:
    scheme = "SingleUser" if strategy == "single_user" else "MultiUser"
    return f"{_PUBLISHER[partition]}SecretsManager{engines.application_infix(engine)}Rotation{scheme}"


def pinned_version(engine: str, strategy: str, partition: str) -> str:
    return _VERSIONS[(engine, strategy)][partition]
